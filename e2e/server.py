"""The real Paydesk server the browser talks to: `paydesk serve` in a throw-away folder,
on SQLite, with demo data, a real SMTP server (aiosmtpd), a short recovery delay and, as
in the demo, the sandbox source system taking the utility bills' write-backs.

`start_server` is used by the session fixture in `e2e/conftest.py`; tests receive the
`Server` it yields and use its helpers to reach what a citizen would be handed (a receipt's
QR link, a hosted card page) without going around the server's own rules.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from paydesk.demo_data import UTILITY_BILLING
from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from shared.gateway.protocol import HostedSession
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import Receipt
from shared.receipts.numbering import verify_url
from tests.shared.smtp_server import Received, SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[1]
PAYDESK = [sys.executable, "-m", "paydesk.cli"]
# Bounded waits: the server answers /healthz in a few seconds; these only stop a hang.
START_DEADLINE_SECONDS = 60
STOP_DEADLINE_SECONDS = 20
# Idempotency keys for hosted sessions: short, so no key looks like a card number to the
# PCI scan (a 13-19 digit run would).
_KEYS = count(1)


@dataclass(frozen=True)
class Server:
    """A running `paydesk serve`: where it answers, where it keeps its files, what it mailed."""

    base_url: str
    folder: Path
    log: Path
    smtp: SmtpServer
    # Another site that may embed the help widget (PAYDESK_WIDGET_ORIGINS): a test serves
    # its page on this port of 127.0.0.1.
    embedder_port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def var_dir(self) -> Path:
        return self.folder / "var"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'paydesk.db'}"

    @property
    def sandbox_database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'sandbox-gateway.db'}"

    @property
    def secret_key(self) -> str:
        return (self.var_dir / "secret_key").read_text().strip()

    @property
    def messages(self) -> list[Received]:
        """Every email the server sent, in order (the aiosmtpd server keeps them)."""
        return self.smtp.received

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def data_files(self) -> list[Path]:
        """Everything the server wrote: databases (with -wal/-journal files), mail, reports."""
        return sorted(path for path in self.folder.rglob("*") if path.is_file())

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A session on the server's own database, to look things up (read, do not write:
        the server is the one that writes)."""
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine)() as session:
                yield session
        finally:
            engine.dispose()

    @contextmanager
    def writer(self) -> Iterator[Session]:
        """A session that writes as the server does, with its keys (the audit chain's):
        for a test's own set-up, such as a staff member of its own."""
        keys = Settings().with_(secret_key=self.secret_key, audit_key="").keys()
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine, keys)() as session:
                yield session
        finally:
            engine.dispose()

    @contextmanager
    def sandbox(self) -> Iterator[SandboxGateway]:
        """The sandbox processor on its own database, as the server's gateway sees it."""
        gateway = SandboxGateway(self.sandbox_database_url, f"{self.base_url}/sandbox-gateway")
        try:
            yield gateway
        finally:
            gateway.close()

    @property
    def embedder_origin(self) -> str:
        return f"http://127.0.0.1:{self.embedder_port}"

    def paydesk(self, *args: str) -> None:
        """Run a `paydesk` command against the server's database (`settle`, say)."""
        _run(list(args), self.folder, self.env, self.log)

    def receipt_verify_url(self, number: str | None = None) -> str:
        """The QR link printed on a receipt: the first demo receipt unless `number` is given."""
        with self.db() as db:
            query = select(Receipt).order_by(Receipt.id)
            if number is not None:
                query = query.where(Receipt.receipt_number == number)
            receipt = db.scalars(query).first()
            assert receipt is not None, "the demo data has no receipt"
            number, total = receipt.receipt_number, receipt.payment.amount
        return verify_url(self.base_url, self.secret_key, number, total)

    def hosted_session(
        self,
        *,
        amount: int = 4_200,
        locale: str = "en",
        description: str = "E2E payment",
        return_path: str = "/",
        cancel_path: str = "/",
        our_key: str | None = None,
    ) -> HostedSession:
        """A hosted card page session as the portal would open one (`session.url` is the page).

        After paying, the processor sends the browser to `return_path` with the session id
        added to the query."""
        with self.sandbox() as gateway:
            return gateway.create_hosted_session(
                amount=amount,
                currency="CAD",
                our_key=our_key or f"e2e-{next(_KEYS)}",
                return_url=self.url(return_path),
                cancel_url=self.url(cancel_path),
                locale=locale,
                description=description,
            )


def _env(folder: Path, port: int, smtp_port: int, embedder_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYDESK_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PAYDESK_DATABASE_URL=f"sqlite:///{folder / 'paydesk.db'}",
        PAYDESK_VAR_DIR=str(folder / "var"),
        PAYDESK_BASE_URL=f"http://127.0.0.1:{port}",
        PAYDESK_SMTP_HOST="127.0.0.1",
        PAYDESK_SMTP_PORT=str(smtp_port),
        PAYDESK_MAIL_BACKEND="smtp",
        PAYDESK_RECOVERY_AFTER_SECONDS="1",
        PAYDESK_WORKER_INTERVAL_SECONDS="1",
        PAYDESK_LOG_LEVEL="DEBUG",
        # As in the demo: utility bills are written back to the sandbox source system.
        PAYDESK_SANDBOX_SOURCE_SYSTEMS=UTILITY_BILLING,
        # Its balances are pulled (as in the demo) on every page, so a journey sees the
        # system's switches at once.
        PAYDESK_BALANCE_MAX_AGE_SECONDS="0",
        PAYDESK_WIDGET_ORIGINS=f"http://127.0.0.1:{embedder_port}",
    )
    return env


def _run(args: list[str], folder: Path, env: dict[str, str], log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run(
            [*PAYDESK, *args],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=START_DEADLINE_SECONDS,
            check=False,
        )
    assert done.returncode == 0, f"paydesk {' '.join(args)} failed:\n{log.read_text()}"


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"paydesk serve exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"paydesk serve did not answer /healthz in time:\n{log.read_text()}")


@contextmanager
def start_server(folder: Path) -> Iterator[Server]:
    """Migrate, load the demo data, start an SMTP server and `paydesk serve`; stop both after."""
    log = folder / "server.log"
    with SmtpServer() as smtp:
        port, embedder_port = free_port(), free_port()
        env = _env(folder, port, smtp.port, embedder_port)
        _run(["migrate"], folder, env, log)
        # Loads the demo data when the database is empty; no bulk data on top.
        _run(["seed", "--customers", "0", "--payments", "0", "--quiet"], folder, env, log)
        base_url = f"http://127.0.0.1:{port}"
        with log.open("a") as out:
            process = subprocess.Popen(
                [*PAYDESK, "serve", "--port", str(port)],
                cwd=folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_healthy(process, base_url, log)
            yield Server(base_url, folder, log, smtp, embedder_port, env)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_DEADLINE_SECONDS)
