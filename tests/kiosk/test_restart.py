"""The kiosk as its own process (`paydesk kiosk`): killed in the middle of a payment, it
reconciles its journal before the next customer, and the resident was charged once. Also
the reader service down, and the card number nowhere on the kiosk's disk or in its log."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.kiosk.conftest import Server
from tests.kiosk.proxy import Relay
from tests.support.pci import card_numbers_in, card_numbers_in_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class KioskProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    state_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def wait_answering(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                httpx.get(self.url + "/state.json", timeout=1)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def journal(self) -> list[tuple[str, str, str | None]]:
        with sqlite3.connect(self.state_dir / "journal.sqlite3") as db:
            rows = db.execute(
                "SELECT idempotency_key, state, transaction_id FROM attempts"
            ).fetchall()
        return [(str(k), str(s), t) for k, s, t in rows]


@pytest.fixture
def start_kiosk(tmp_path: Path) -> Iterator[object]:
    started: list[KioskProcess] = []

    def start(
        server_url: str, terminal: str, code: str | None, reader: str = "simulated", **env: str
    ) -> KioskProcess:
        port = _free_port()
        log = tmp_path / f"kiosk-{len(started)}.log"
        state_dir = tmp_path / "state"
        args = [
            sys.executable, "-m", "paydesk.cli", "kiosk", "--server", server_url,
            "--terminal", terminal, "--port", str(port), "--state-dir", str(state_dir),
            "--reader", reader,
        ]  # fmt: skip
        if code:
            args += ["--enrolment-code", code]
        environment = os.environ | {
            "PAYDESK_KIOSK_POLL_SECONDS": "0.2",
            "PAYDESK_LOG_LEVEL": "DEBUG",
            **env,
        }
        with log.open("ab") as out:
            process = subprocess.Popen(
                args, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
            )
        kiosk = KioskProcess(process, port, log, state_dir)
        started.append(kiosk)
        kiosk.wait_answering()
        return kiosk

    yield start
    for kiosk in started:
        if kiosk.process.poll() is None:
            kiosk.process.terminate()
            kiosk.process.wait(timeout=10)


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html
    return match.group(1)


def _wait_in_service(kiosk: KioskProcess) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(kiosk.url + "/").status_code != 200:
        assert time.monotonic() < deadline, kiosk.log.read_text()
        time.sleep(0.1)


def test_killed_mid_payment_the_kiosk_reconciles_before_the_next_customer(
    server: Server, start_kiosk: object, tmp_path: Path
) -> None:
    relay = Relay(server.port)
    try:
        (bill,) = server.bills([6150])
        terminal = "KIOSK-KILL"
        kiosk = start_kiosk(relay.url, terminal, server.enrolment_code(terminal))  # type: ignore[operator]
        _wait_in_service(kiosk)
        with kiosk.browser() as screen:
            screen.post("/start", data={"lang": "en"})
            find = screen.get("/find").text
            screen.post(
                "/find",
                data={
                    "csrf_token": _csrf(find),
                    "reference": bill.account.account_number,
                    "access_code": "4821",
                    "action": "find",
                },
            )
            bills = screen.get("/bills").text
            assert bill.invoice_number in bills
            screen.post(
                "/bills",
                data={"csrf_token": _csrf(bills), "invoice": [bill.invoice_number]},
            )
            card = screen.get("/card").text
            relay.lose_next_payment()
            screen.post("/simulate/card", data={"csrf_token": _csrf(card), "card": "visa"})
        assert relay.payment_answer_dropped.wait(20), kiosk.log.read_text()
        kiosk.kill()
        ((key, state, _),) = kiosk.journal()
        assert state in ("sending", "in_doubt")
        # The server charged once; the kiosk died before it knew.
        assert len(server.payments_by_key(key)) == 1

        relay.up()
        again = start_kiosk(relay.url, terminal, None)  # type: ignore[operator]
        _wait_in_service(again)
        # In service means reconciled: the journal knows the payment went through.
        ((same_key, state, transaction_id),) = again.journal()
        assert (same_key, state) == (key, "approved")
        (payment,) = server.payments_by_key(key)
        assert transaction_id == payment.transaction_id
        assert payment.status in ("authorized", "posted", "settled")
        # No card number anywhere the kiosk writes: journal, receipts, credentials, log.
        assert card_numbers_in_files(sorted(again.state_dir.rglob("*"))) == {}
        assert card_numbers_in(kiosk.log.read_bytes() + again.log.read_bytes()) == []
    finally:
        relay.close()


def test_reader_service_down_puts_the_kiosk_out_of_service(
    server: Server, start_kiosk: object, tmp_path: Path
) -> None:
    terminal = "KIOSK-NOPCSCD"
    # A real PC/SC client pointed at a pcscd that is not running.
    kiosk = start_kiosk(  # type: ignore[operator]
        server.url,
        terminal,
        server.enrolment_code(terminal),
        reader="",
        PCSCLITE_CSOCK_NAME=str(tmp_path / "no-pcscd" / "pcscd.comm"),
    )
    deadline = time.monotonic() + 30
    while server.terminal_health(terminal).get("reader", {}).get("state") != "no_service":
        assert time.monotonic() < deadline, kiosk.log.read_text()
        time.sleep(0.1)
    welcome = httpx.get(kiosk.url + "/")
    assert welcome.status_code == 503
    assert "This kiosk cannot take payments right now" in welcome.text
