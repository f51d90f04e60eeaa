"""Database fixtures: every database test runs on SQLite, and again on PostgreSQL when
PAYDESK_TEST_POSTGRES_URL is set (CI sets it). Each test runs in a transaction that is
rolled back; tests that need real concurrency ask for `fresh_database` instead."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from shared.gateway.sandbox.gateway import SandboxGateway

from shared import audit
from shared.db import make_engine, make_sessionmaker
from tests.support.databases import POSTGRES_URL, TEST_KEYS, create_database, drop_schema

BACKENDS = ["sqlite", "postgres"]


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return f"PostgreSQL tests: on ({make_url(POSTGRES_URL).render_as_string()})"
    return "PostgreSQL tests: skipped (set PAYDESK_TEST_POSTGRES_URL to run them)"


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine

    def sessionmaker(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine, TEST_KEYS)


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One migrated database per backend for the whole run (tests roll back)."""
    url, schema = create_database(request.param, tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    yield Database(request.param, url, engine)
    engine.dispose()
    drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A new migrated database for this test alone: real commits, real concurrency."""
    url, schema = create_database(request.param, tmp_path)
    engine = make_engine(url, pool_size=25, max_overflow=10)
    yield Database(request.param, url, engine)
    engine.dispose()
    drop_schema(schema)


@pytest.fixture
def factory(database: Database, request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    """Sessions that share one outer transaction, rolled back after the test.

    Code under test may commit as often as it likes: each commit only releases a
    savepoint inside the outer transaction. Afterwards the audit chain must still verify,
    whatever the test did (`paydesk audit verify`), unless the test breaks it on purpose
    (`@pytest.mark.breaks_audit_chain`)."""
    connection = database.engine.connect()
    outer = connection.begin()
    info = make_sessionmaker(database.engine, TEST_KEYS).kw["info"]
    yield sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info=info,
    )
    if request.node.get_closest_marker("breaks_audit_chain") is None:
        _chain_still_verifies(connection, info)
    outer.rollback()
    connection.close()


def _chain_still_verifies(connection: Connection, info: dict[str, Any]) -> None:
    try:
        with Session(bind=connection, join_transaction_mode="create_savepoint", info=info) as check:
            result = audit.verify(check)
    except DBAPIError:
        return  # the test left the transaction failed: it failed already, more is noise
    assert result.ok, f"the audit chain no longer verifies: {result}"


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    yield session
    session.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxGateway]:
    """The real sandbox processor, with its own database as a processor would have."""
    from shared.gateway.sandbox.gateway import SandboxGateway

    gateway = SandboxGateway(
        f"sqlite:///{tmp_path / 'sandbox-gateway.db'}", "http://testserver/sandbox-gateway"
    )
    yield gateway
    gateway.close()
