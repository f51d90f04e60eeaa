"""Database fixtures: every database test runs on SQLite, and again on PostgreSQL when
PAYDESK_TEST_POSTGRES_URL is set (CI sets it). Each test runs in a transaction that is
rolled back; tests that need real concurrency ask for `fresh_database` instead."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from shared.gateway.sandbox.gateway import SandboxGateway

from shared.db import make_engine
from shared.migrate import upgrade

POSTGRES_URL = os.environ.get("PAYDESK_TEST_POSTGRES_URL")
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
        return sessionmaker(bind=self.engine, expire_on_commit=False)


def _create_database(backend: str, tmp: Path) -> tuple[str, str | None]:
    """A new, empty, migrated database; returns (url, postgres schema or None)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'paydesk-{secrets.token_hex(4)}.db'}"
        upgrade(url)
        return url, None
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set PAYDESK_TEST_POSTGRES_URL")
    schema = f"pd_test_{secrets.token_hex(6)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    return rendered, schema


def _drop_schema(schema: str | None) -> None:
    if schema and POSTGRES_URL:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One migrated database per backend for the whole run (tests roll back)."""
    url, schema = _create_database(request.param, tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    yield Database(request.param, url, engine)
    engine.dispose()
    _drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A new migrated database for this test alone: real commits, real concurrency."""
    url, schema = _create_database(request.param, tmp_path)
    engine = make_engine(url, pool_size=25, max_overflow=10)
    yield Database(request.param, url, engine)
    engine.dispose()
    _drop_schema(schema)


@pytest.fixture
def factory(database: Database) -> Iterator[sessionmaker[Session]]:
    """Sessions that share one outer transaction, rolled back after the test.

    Code under test may commit as often as it likes: each commit only releases a
    savepoint inside the outer transaction."""
    connection = database.engine.connect()
    outer = connection.begin()
    yield sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    outer.rollback()
    connection.close()


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
