"""The same contract for every balance source: the local one (bills held in Paydesk) and
the HTTP JSON one (a real server on loopback holding the same bills)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from shared.balance_sources.http_json import HttpJsonSource
from shared.balance_sources.local import LocalSource
from shared.balance_sources.protocol import (
    BalanceSource,
    SourceUnavailable,
    UnknownAccount,
)
from shared.models import Invoice
from tests import factories
from tests.shared.balance_sources.helpers import SECRET, SYSTEM
from tests.support.pull_source import PullSource, bill


@pytest.fixture(params=["local", "http_json"])
def held(
    request: pytest.FixtureRequest, db: Session
) -> Iterator[tuple[BalanceSource, Invoice, Invoice]]:
    (first,) = factories.bills(db, [10_000])
    second = factories.invoice(db, first.account, first.fee_type, 2_500)
    db.commit()
    if request.param == "local":
        yield LocalSource(db), first, second
        return
    with PullSource(SECRET) as server:
        server.books[first.account.account_number] = [
            bill(i.invoice_number, i.owing, i.fee_type.code) for i in (first, second)
        ]
        yield HttpJsonSource(SYSTEM, server.url, SECRET, 2.0), first, second


def test_a_statement_lists_the_open_bills_and_what_they_owe(
    held: tuple[BalanceSource, Invoice, Invoice],
) -> None:
    source, first, second = held
    statement = source.statement(first.account.account_number)
    assert statement.account_number == first.account.account_number
    assert {(b.invoice_number, b.owing) for b in statement.bills} == {
        (first.invoice_number, 10_000),
        (second.invoice_number, 2_500),
    }
    assert statement.owing == 12_500
    assert statement.as_of.tzinfo is not None


def test_an_unknown_account_is_said_so(held: tuple[BalanceSource, Invoice, Invoice]) -> None:
    source, _first, _second = held
    with pytest.raises(UnknownAccount):
        source.statement("NO-SUCH-ACCOUNT")


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b"[]",
        b'{"account_number": "OTHER", "as_of": "2026-12-08T09:00:00+00:00", "bills": []}',
        b'{"account_number": "A-1", "as_of": "2026-12-08T09:00:00", "bills": []}',
        b'{"account_number": "A-1", "as_of": "2026-12-08T09:00:00Z", "bills": [{"owing": 1}]}',
        b'{"account_number": "A-1", "as_of": "2026-12-08T09:00:00Z",'
        b' "bills": [{"invoice_number": "B", "owing": 1.5}]}',
        b'{"account_number": "A-1", "as_of": "2026-12-08T09:00:00Z",'
        b' "bills": [{"invoice_number": "B", "owing": true}]}',
        b'{"account_number": "A-1", "as_of": "2026-12-08T09:00:00Z",'
        b' "bills": [{"invoice_number": "B", "owing": -5}]}',
    ],
)
def test_an_answer_not_like_the_contract_is_unavailable_never_a_crash(answer: bytes) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/balances"
        with pytest.raises(SourceUnavailable) as unavailable:
            HttpJsonSource(SYSTEM, url, SECRET, 2.0).statement("A-1")
        assert not isinstance(unavailable.value, UnknownAccount)
        assert unavailable.value.reason.startswith("utility answered something unexpected")
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_system_is_unavailable() -> None:
    with PullSource(SECRET) as server:
        url = server.url
    with pytest.raises(SourceUnavailable) as unavailable:
        HttpJsonSource(SYSTEM, url, SECRET, 1.0).statement("A-1")
    assert unavailable.value.reason.startswith("utility could not be reached")
