"""Read transactions on the real databases: they never write, never queue for SQLite's
write lock, and leave PostgreSQL's prepared statements in place."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import OperationalError

from shared import audit
from shared.actors import SYSTEM
from shared.db import WriteInARead, finish_read, make_engine, read_only_session
from shared.models import Department
from tests.conftest import Database


def _departments(database: Database) -> int:
    with database.sessionmaker()() as db:
        return db.scalar(select(func.count()).select_from(Department)) or 0


def test_a_read_cannot_write(fresh_database: Database) -> None:
    factory = fresh_database.sessionmaker()
    db = read_only_session(factory)
    try:
        db.add(Department(code="stray", name="Written by a read"))
        with pytest.raises(WriteInARead):
            db.flush()
        db.expunge_all()
        with pytest.raises(WriteInARead):
            db.execute(insert(Department).values(code="stray", name="Written by a read"))
        with pytest.raises(WriteInARead):  # past the ORM, on the connection itself
            db.connection().exec_driver_sql(
                "INSERT INTO departments (code, name) VALUES ('stray', 'Written by a read')"
            )
        with pytest.raises(WriteInARead):
            audit.record(db, SYSTEM, "read:wrote", "department", "stray")
        db.add(Department(code="stray", name="Never flushed"))
        with pytest.raises(WriteInARead):  # left behind: an error, not quietly dropped
            finish_read(db)
    finally:
        db.close()
    assert _departments(fresh_database) == 0


@pytest.mark.parametrize("fresh_database", ["sqlite"], indirect=True)
def test_a_read_does_not_hold_the_sqlite_write_lock(fresh_database: Database) -> None:
    factory = fresh_database.sessionmaker()
    reader = read_only_session(factory)
    try:
        assert reader.scalar(select(func.count()).select_from(Department)) == 0
        # While the read is open, a writer told not to wait gets the write lock at once;
        # behind a reader's BEGIN IMMEDIATE it would fail with "database is locked".
        writer = fresh_database.engine.raw_connection()
        try:
            cursor = writer.cursor()
            cursor.execute("PRAGMA busy_timeout = 0")
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("INSERT INTO departments (code, name) VALUES ('roads', 'Roads')")
            cursor.execute("COMMIT")
            cursor.execute("PRAGMA busy_timeout = 30000")
        finally:
            writer.close()
        # The read still sees the database as it was when it started (WAL snapshot).
        assert reader.scalar(select(func.count()).select_from(Department)) == 0
        finish_read(reader)
    finally:
        reader.close()
    assert _departments(fresh_database) == 1


@pytest.mark.parametrize("fresh_database", ["postgres"], indirect=True)
def test_reads_keep_postgresql_prepared_statements(fresh_database: Database) -> None:
    factory = fresh_database.sessionmaker()
    # psycopg prepares a query from its sixth run on a connection, and drops them all on
    # ROLLBACK: reads ending in ROLLBACK would have every query planned every time.
    for _ in range(8):
        db = read_only_session(factory)
        db.scalars(select(Department).where(Department.code == "roads")).all()
        finish_read(db)
        db.close()
    with factory() as db:
        prepared = db.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("FROM departments" in statement for statement in prepared), prepared


@pytest.mark.parametrize("fresh_database", ["postgres"], indirect=True)
def test_a_connection_dropped_while_idle_is_replaced_unseen(fresh_database: Database) -> None:
    engine = make_engine(fresh_database.url, ping_after_idle=0)
    try:
        dropped = _backend_pid(engine)
        _terminate(fresh_database, dropped)  # as a server restart or an idle timeout would
        assert _backend_pid(engine) != dropped  # pinged, replaced, and the query ran
    finally:
        engine.dispose()


@pytest.mark.parametrize("fresh_database", ["postgres"], indirect=True)
def test_a_connection_dropped_just_after_use_fails_one_request(fresh_database: Database) -> None:
    # Used moments ago, it is trusted without a ping: the one request that finds it gone
    # fails, the pool is emptied, and the next request gets a new connection.
    engine = make_engine(fresh_database.url, ping_after_idle=3600)
    try:
        dropped = _backend_pid(engine)
        _terminate(fresh_database, dropped)
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != dropped
    finally:
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(database: Database, pid: int) -> None:
    with database.engine.connect() as connection:
        # Waits (up to 5 s) until the backend has exited.
        connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)")
        connection.commit()
