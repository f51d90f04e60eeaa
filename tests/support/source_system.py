"""A source system's write-back endpoint for tests: a real HTTP server on 127.0.0.1.

It keeps every request it receives and answers with `status` (change it to make the
system refuse, or stop the server to make it unreachable).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class SourceSystem:
    def __init__(self, port: int = 0, status: int = 200) -> None:
        self.status = status
        self.received: list[Request] = []
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                system.received.append(Request(self.path, dict(self.headers.items()), body))
                self.send_response(system.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://{HOST}:{self.port}/paydesk/payments"
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
        self.server.shutdown()
        self.server.server_close()
