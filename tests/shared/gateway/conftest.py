"""Fixtures for the sandbox gateway: its store on SQLite (a file under tmp_path) and,
when PAYDESK_TEST_POSTGRES_URL is set, again on PostgreSQL in a schema of its own
that is dropped afterwards (other modules use the same database at the same time)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from shared.gateway.sandbox import SandboxGateway, hosted_app
from shared.gateway.sandbox.cards import luhn_valid
from shared.gateway.sandbox.store import SandboxBase

POSTGRES_URL = os.environ.get("PAYDESK_TEST_POSTGRES_URL")
MOUNT = "/sandbox-gateway"
BASE_URL = f"http://testserver{MOUNT}"
FUTURE = (12, 2035)
"""An expiry that is never in the past while these tests live."""

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty sandbox store for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sandbox-gateway.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set PAYDESK_TEST_POSTGRES_URL")
    schema = f"sandbox_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def gateway(store_url: str) -> Iterator[SandboxGateway]:
    gateway = SandboxGateway(store_url, BASE_URL)
    yield gateway
    gateway.close()


@pytest.fixture
def card_token(gateway: SandboxGateway) -> Callable[[str], str]:
    """A fresh single-use token for a card number, as the kiosk would get one."""

    def tokenize(pan: str) -> str:
        return gateway.tokenize_card_present(pan, *FUTURE, cardholder_name="Test Payer")

    return tokenize


@pytest.fixture(scope="module")
def hosted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite file behind the hosted page, one per test module, scanned for PANs."""
    return tmp_path_factory.mktemp("sandbox") / "sandbox-gateway.db"


@pytest.fixture(scope="module")
def hosted_gateway(hosted_db: Path) -> Iterator[SandboxGateway]:
    gateway = SandboxGateway(f"sqlite:///{hosted_db}", BASE_URL)
    yield gateway
    gateway.close()


@pytest.fixture(scope="module")
def client(hosted_gateway: SandboxGateway) -> Iterator[TestClient]:
    """The hosted app mounted as Paydesk mounts it: a named mount beside the host's own
    `static`, so the page's links must come from the hosted app's own routes."""
    app = Starlette(
        routes=[
            Route("/static/{path:path}", _host_static, name="static"),
            Mount(MOUNT, app=hosted_app(hosted_gateway), name="sandbox"),
        ]
    )
    with TestClient(app, follow_redirects=False) as client:
        yield client


def _host_static(request: Request) -> Response:
    return PlainTextResponse("the host's static files", status_code=418)


_DIGIT_RUN = re.compile(rb"\d{13,}")


def luhn_runs(data: bytes) -> list[str]:
    """Every Luhn-valid 13-19 digit window in `data` (what a PAN scan looks for)."""
    found = []
    for run in _DIGIT_RUN.findall(data):
        digits = run.decode()
        for size in range(13, min(19, len(digits)) + 1):
            for start in range(len(digits) - size + 1):
                window = digits[start : start + size]
                if luhn_valid(window):
                    found.append(window)
    return found


@pytest.fixture
def find_pans() -> Callable[[bytes], list[str]]:
    return luhn_runs


def dump_store(gateway: SandboxGateway) -> bytes:
    """Every value in every sandbox table, as text: the database side of a PAN scan."""
    lines = []
    with gateway.store.engine.connect() as conn:
        for table in SandboxBase.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                lines.append(" | ".join(str(value) for value in row))
    return "\n".join(lines).encode()


@pytest.fixture
def store_dump() -> Callable[[SandboxGateway], bytes]:
    return dump_store
