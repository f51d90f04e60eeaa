"""Read transactions on the real databases: they never write, never queue for SQLite's
write lock, and leave PostgreSQL's prepared statements in place."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text

from shared.db import WriteInARead, finish_read, read_only_session
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
