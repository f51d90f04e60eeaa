"""A source system's balance endpoint for tests (the pull contract): a real HTTP server
on 127.0.0.1 that checks each request's signature and answers from `books`.

Make it misbehave by changing its attributes: `delay` (seconds before answering),
`status` (an error to answer with), `as_of` (the time it says its answer is from).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from shared.messaging.signing import SIGNATURE_HEADER

HOST = "127.0.0.1"


def bill(
    number: str, owing: int, fee_type: str = "water", amount_due: int | None = None
) -> dict[str, Any]:
    return {
        "invoice_number": number,
        "owing": owing,
        "amount_due": owing if amount_due is None else amount_due,
        "fee_type": fee_type,
        "description": f"Bill {number}",
        "due_date": "2026-12-31",
    }


class PullSource:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.books: dict[str, list[dict[str, Any]]] = {}
        self.delay = 0.0
        self.status = 200
        self.as_of: dt.datetime | None = None
        self.asked: list[str] = []
        self.badly_signed = 0
        self._released = threading.Event()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                t, _, v1 = self.headers.get(SIGNATURE_HEADER, "").partition(",v1=")
                mac = hmac.new(
                    source.secret.encode(), f"{t[2:]}.".encode() + body, hashlib.sha256
                ).hexdigest()
                if not hmac.compare_digest(mac, v1):
                    source.badly_signed += 1
                    self._answer(401, {"error": "bad signature"})
                    return
                number = json.loads(body)["account_number"]
                source.asked.append(number)
                if source.delay:
                    # Woken early when the test ends, so no thread outlives it long.
                    source._released.wait(source.delay)
                if source.status != 200:
                    self._answer(source.status, {"error": "down"})
                elif number not in source.books:
                    self._answer(404, {"error": "no such account"})
                else:
                    as_of = source.as_of or dt.datetime.now(dt.UTC)
                    self._answer(
                        200,
                        {
                            "account_number": number,
                            "as_of": as_of.isoformat(),
                            "bills": source.books[number],
                        },
                    )

            def _answer(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass  # the client gave up waiting: what a slow system sees

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://{HOST}:{self.port}/balances"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0)
