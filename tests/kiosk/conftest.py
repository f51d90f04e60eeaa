"""The kiosk runtime against a real Paydesk server on loopback.

`server`: the whole Paydesk app under uvicorn on its own SQLite database (one per module),
with the sandbox processor's card-present endpoint. The kiosk reaches it through a
`Relay` (tests/kiosk/proxy.py) so a test can cut the network. `kiosks.start()` builds a
kiosk runtime (its own state folder, enrolled with a real one-time code) and drives its
screens with a TestClient, whose event loop also runs the kiosk's heartbeat and
payments; the simulated card reader and a file or emulated serial printer are its devices.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from kiosk.app import KioskApp
from kiosk.devices import Devices
from kiosk.settings import KioskSettings
from kiosk_devices.card_reader import CardReader
from kiosk_devices.card_reader.simulated import SimulatedCardReader
from kiosk_devices.printer import FilePrinter, PrinterProfile, ReceiptPrinter, open_printer
from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from shared.actors import Actor, ActorType
from shared.models import Invoice
from shared.terminals import registry
from tests import factories
from tests.kiosk.proxy import Relay
from tests.support.apps import runtime_on_fresh_database
from tests.support.live_server import serving

ADMIN = Actor(ActorType.STAFF, "admin")
KIOSK_URL = "http://127.0.0.1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Server:
    runtime: Runtime
    port: int

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.runtime.factory

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bills(self, amounts: list[int], access_code: str = "4821") -> list[Invoice]:
        with self.factory() as db:
            made = factories.bills(db, amounts)
            for bill in made:
                bill.account.access_code = access_code
            db.commit()
            return made

    def enrolment_code(self, terminal: str) -> str:
        with self.factory() as db:
            issued = registry.register(db, ADMIN, code=terminal, location="City Hall lobby")
            db.commit()
            return issued.code

    def payments_by_key(self, key: str) -> list[Any]:
        from shared.models import Payment

        with self.factory() as db:
            return list(db.scalars(select(Payment).where(Payment.idempotency_key == key)))

    def terminal_health(self, terminal: str) -> dict[str, Any]:
        with self.factory() as db:
            found = registry.by_code(db, terminal)
            assert found is not None
            return dict(found.health or {})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("kiosk-server")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    with (
        runtime_on_fresh_database(
            "sqlite", tmp, secret_key="kiosk-tests", base_url=f"http://127.0.0.1:{port}"
        ) as runtime,
        serving(asgi(create_app(runtime)), sock),
    ):
        yield Server(runtime, port)
    sock.close()


@dataclass
class Kiosk:
    """One kiosk runtime and the screen a resident touches."""

    client: TestClient
    app: KioskApp
    settings: KioskSettings
    reader: SimulatedCardReader
    printer: ReceiptPrinter
    relay: Relay

    @property
    def service(self) -> Any:
        return self.app.service

    def csrf(self, html: str) -> str:
        match = _CSRF.search(html)
        assert match, "the screen has no form"
        return match.group(1)

    def state(self) -> str:
        return str(self.client.get("/state.json").json()["state"])

    def wait_for_state(self, *states: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while (now := self.state()) not in states:
            assert time.monotonic() < deadline, f"kiosk stayed {now!r}, not {states}"
            time.sleep(0.05)
        return now

    def wait_until(self, check: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, "the kiosk never got there"
            time.sleep(0.05)

    def begin(self, locale: str = "en") -> str:
        """Choose the language on the welcome screen; returns the find screen."""
        welcome = self.client.get("/")
        assert welcome.status_code == 200, welcome.text
        answer = self.client.post("/start", data={"lang": locale}, follow_redirects=True)
        assert answer.status_code == 200
        return answer.text

    def find(self, reference: str, code: str) -> Any:
        page = self.client.get("/find")
        return self.client.post(
            "/find",
            data={
                "csrf_token": self.csrf(page.text),
                "reference": reference,
                "access_code": code,
                "target": "access_code",
                "action": "find",
            },
            follow_redirects=True,
        )

    def pay(self, invoices: list[str]) -> Any:
        page = self.client.get("/bills")
        return self.client.post(
            "/bills",
            data={"csrf_token": self.csrf(page.text), "invoice": invoices, "action": "pay"},
            follow_redirects=True,
        )

    def post(self, url: str, **data: Any) -> Any:
        page = self.client.get("/card" if url.startswith("/card") else "/receipt")
        return self.client.post(
            url, data={"csrf_token": self.csrf(page.text), **data}, follow_redirects=True
        )


@dataclass
class Kiosks:
    server: Server
    tmp: Path
    stack: ExitStack
    started: list[Kiosk] = field(default_factory=list)

    def start(
        self,
        terminal: str | None = None,
        *,
        printer: ReceiptPrinter | str | None = None,
        relay: Relay | None = None,
        state_dir: Path | None = None,
        enrol: bool = True,
        reader: CardReader | None = None,
        **timings: float,
    ) -> Kiosk:
        terminal = terminal or factories.unique("KIOSK")
        state_dir = state_dir or self.tmp / terminal
        relay = relay or self.stack.enter_context(_closing(Relay(self.server.port)))
        settings = KioskSettings(
            server_url=relay.url,
            terminal=terminal,
            state_dir=state_dir,
            enrolment_code=self.server.enrolment_code(terminal) if enrol else None,
            **({"poll_seconds": 0.2, "card_wait_seconds": 30.0} | timings),  # type: ignore[arg-type]
        )
        simulated = SimulatedCardReader()
        if printer is None:
            printer = FilePrinter(state_dir / "printer" / "receipts", PrinterProfile())
        elif isinstance(printer, str):
            printer = open_printer(printer, PrinterProfile())
        app = KioskApp(settings, Devices(reader or simulated, printer))
        client = self.stack.enter_context(
            TestClient(app.asgi(), base_url=KIOSK_URL, follow_redirects=False)
        )
        kiosk = Kiosk(client, app, settings, simulated, printer, relay)
        self.started.append(kiosk)
        return kiosk


class _closing:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def __enter__(self) -> Relay:
        return self.relay

    def __exit__(self, *exc: object) -> None:
        self.relay.close()


@pytest.fixture
def kiosks(server: Server, tmp_path: Path) -> Iterator[Kiosks]:
    with ExitStack() as stack:
        yield Kiosks(server, tmp_path, stack)
