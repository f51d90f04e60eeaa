"""Card inserted → receipt printed at the kiosk (goal: under 2 s).

    .venv/bin/python bench/kiosk.py [--rounds 30]

The whole chain, real except the hardware: a Paydesk server under uvicorn on loopback
(SQLite, the sandbox processor), the kiosk runtime enrolled with it, the simulated card
reader (the real EMV read against an in-memory card), and the ESC/POS driver printing to
the emulated serial printer on a pseudo-terminal (with its print confirmation). Each
round a resident has two bills of two departments on the bill screen; the clock starts
when the card goes in and stops when the printer has cut the receipt. In between: the EMV
read, the processor's card-present tokenization, the journal write, POST payments (the
server's payment, posting and receipt), the receipt layout fetched, encoded and printed.
Prints the figures; record them in RESULTS.md.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient

from kiosk.app import KioskApp
from kiosk.devices import Devices
from kiosk.payment import RunState
from kiosk.settings import KioskSettings
from kiosk_devices.card_reader.simulated import SimulatedCardReader
from kiosk_devices.printer import EscPosPrinter, PrinterProfile
from paydesk.app import asgi, create_app
from shared.actors import Actor, ActorType
from shared.terminals import registry
from tests import factories
from tests.kiosk_devices.printer.emulator import EscPosEmulator
from tests.kiosk_devices.printer.transports import PtyPrinter
from tests.support.apps import runtime_on_fresh_database
from tests.support.live_server import serving

ADMIN = Actor(ActorType.STAFF, "bench")
CSRF = 'name="csrf_token" value="'


def _csrf(html: str) -> str:
    start = html.index(CSRF) + len(CSRF)
    return html[start : html.index('"', start)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-kiosk-"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    with (
        runtime_on_fresh_database(
            "sqlite", tmp, secret_key="bench-kiosk", base_url=f"http://127.0.0.1:{port}"
        ) as runtime,
        serving(asgi(create_app(runtime)), sock),
    ):
        with runtime.factory() as db:
            code = registry.register(db, ADMIN, code="KIOSK-BENCH", location="Bench").code
            db.commit()
        with runtime.factory() as db:
            pairs = [factories.bills(db, [4500, 1250]) for _ in range(args.rounds)]
            found = [(p[0].account.account_number, p[1].account.account_number) for p in pairs]
        emulated = PtyPrinter(EscPosEmulator(42))
        emulated.start()
        reader = SimulatedCardReader()
        printer = EscPosPrinter(emulated.path, PrinterProfile())
        settings = KioskSettings(
            server_url=f"http://127.0.0.1:{port}",
            terminal="KIOSK-BENCH",
            state_dir=tmp / "kiosk",
            enrolment_code=code,
            poll_seconds=0.5,
        )
        kiosk = KioskApp(settings, Devices(reader, printer))
        timings = []
        with TestClient(kiosk.asgi(), base_url="http://127.0.0.1") as screen:
            for first, second in found:
                page = screen.post("/start", data={"lang": "fr"}, follow_redirects=True).text
                for account in (first, second):
                    page = screen.post(
                        "/find",
                        data={
                            "csrf_token": _csrf(page),
                            "reference": account,
                            "access_code": "4821",
                            "action": "find",
                        },
                        follow_redirects=True,
                    ).text
                visit = next(iter(kiosk.service.sessions._visits.values()))
                screen.post(
                    "/bills",
                    data={"csrf_token": _csrf(page), "invoice": visit.selected, "action": "pay"},
                )
                run = visit.run
                cuts = emulated.emulator.cuts()
                started = time.perf_counter()
                reader.insert("visa")
                while run.state not in (RunState.PRINTED, RunState.PRINT_FAILED):
                    assert run.state not in (RunState.CARD_ERROR, RunState.DECLINED), run.state
                    time.sleep(0.002)
                timings.append(time.perf_counter() - started)
                assert run.state == RunState.PRINTED and emulated.emulator.cuts() == cuts + 1
                reader.remove()
                screen.post("/finish", data={"csrf_token": visit.csrf})
        emulated.stop()
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"rounds {len(timings)}: card inserted -> receipt printed")
    print(f"  median {statistics.median(timings) * 1000:.0f} ms")
    print(f"  p95    {p95 * 1000:.0f} ms")
    print(f"  max    {timings[-1] * 1000:.0f} ms")
    print(f"  min    {timings[0] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
