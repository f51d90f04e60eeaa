"""Database plumbing: declarative base, column types, engines and sessions.

SQLite is the embedded default (WAL, foreign keys on, every writing transaction
`BEGIN IMMEDIATE` so two writers never deadlock on a lock upgrade);
PostgreSQL (psycopg 3) is production.

A request that only reads (a GET page, the session look-up) uses `read_only_session`
and ends it with `finish_read`; any write in it raises `WriteInARead`. On PostgreSQL it
runs in autocommit: no BEGIN and COMMIT round trips, and its ROLLBACK sends nothing (a
real ROLLBACK makes psycopg forget every prepared statement, so every query would be
planned on every request). Each statement still sees what was committed when it
started, as in a READ COMMITTED transaction. SQLite begins it DEFERRED, so readers never
queue for the write lock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnDefault,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    ORMExecuteState,
    Session,
    SessionTransaction,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


# BIGINT on PostgreSQL; INTEGER on SQLite so the key aliases the rowid and autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")

IntPk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]
Minor = Annotated[int, mapped_column(BigInteger)]
"""An amount in integer minor units (cents). Never a float."""
Timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
Code = Annotated[str, mapped_column(String(64))]
Json = Annotated[dict[str, Any], mapped_column(JSON, default=dict)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# A pooled PostgreSQL connection that sat unused this long is pinged before it is used.
PING_AFTER_IDLE_SECONDS = 10.0
_RETURNED = "paydesk.returned"


def make_engine(
    url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any
) -> Engine:
    if not is_sqlite(url):
        engine = create_engine(url, **kwargs)
        _ping_when_idle(engine, ping_after_idle)
        return engine
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so we can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        reads_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    return engine


def _ping_when_idle(engine: Engine, after: float) -> None:
    """Ping a pooled connection before use only when it sat idle `after` seconds or more.

    A ping on every check-out (`pool_pre_ping`) was a round trip on every request, two
    for a staff page. A connection used moments ago is trusted instead: if the server
    went away since, that one request fails and the pool is emptied, as SQLAlchemy does
    on any disconnect; an idle one (a server restart overnight) is pinged and replaced.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < after:
            return  # just connected, or used moments ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_conn, None):
                # The pool drops this connection and checks out another.
                raise DisconnectionError() from error
            raise


def row_of(obj: Base) -> dict[str, Any]:
    """A new object's column values for a Core INSERT, column defaults applied to both.

    Hot paths write rows with Core (no unit-of-work flush), then `attach` the object.
    """
    row: dict[str, Any] = {}
    for column in cast(Table, obj.__table__).c:
        value = getattr(obj, column.key)
        if value is None and isinstance(column.default, ColumnDefault):
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg
            setattr(obj, column.key, value)
        if value is not None or not column.primary_key:
            row[column.key] = value
    return row


_ATTACHED = "paydesk.db.attached"


def attach(session: Session, obj: Base) -> None:
    """Make a new object whose row was written with Core a clean, persistent one."""
    make_transient_to_detached(obj)
    session.add(obj)
    session.info.setdefault(_ATTACHED, []).append(obj)


@event.listens_for(Session, "after_commit")
def _keep_attached(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_ATTACHED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_attached(session: Session, transaction: SessionTransaction) -> None:
    # Ended without a commit: their rows are gone, so drop them, as the ORM drops its own.
    if transaction.parent is None:
        for obj in session.info.pop(_ATTACHED, []):
            if obj in session:
                session.expunge(obj)


@dataclass(frozen=True)
class SessionKeys:
    """Secrets a unit of work needs that the database must never hold: with them in the
    database, whoever can write to it could forge what they protect."""

    # Keys the audit chain's HMACs (shared.audit): rows cannot be rewritten without it.
    audit: bytes
    # Keys the hashes under which what people typed is counted (shared.rate_limit).
    lookup: bytes


_KEYS = "paydesk.keys"


def make_sessionmaker(engine: Engine, keys: SessionKeys | None = None) -> sessionmaker[Session]:
    """Sessions on `engine`; those that write audit events or rate limits need `keys`."""
    info = {_KEYS: keys} if keys is not None else {}
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


def keys_of(session: Session) -> SessionKeys:
    keys = session.info.get(_KEYS)
    if not isinstance(keys, SessionKeys):
        raise RuntimeError("this session has no keys: make_sessionmaker(engine, settings.keys())")
    return keys


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_READ_ONLY = "paydesk_read_only"  # engine option: SQLite begins DEFERRED
_GUARDED = "paydesk.reads_only"  # session info: writes raise
_READ_ENGINE = "_paydesk_read_only_engine"  # the read engine, kept on its engine
# Statements a read must never send, however they are sent (ORM, Core, a connection).
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "DROP", "ALTER")


class WriteInARead(RuntimeError):
    """Something tried to write in a read-only session: a GET that writes must say so."""


def _read_only_engine(engine: Engine) -> Engine:
    """The same pool, for reads (see the module docstring)."""
    found: Engine | None = getattr(engine, _READ_ENGINE, None)
    if found is None:
        options: dict[str, Any] = {_READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        found = engine.execution_options(**options)
        event.listen(found, "before_cursor_execute", _no_write_statement)
        setattr(engine, _READ_ENGINE, found)
    return found


def _no_write_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    if statement.lstrip()[:8].upper().startswith(_WRITES):
        raise WriteInARead(f"a read-only connection was asked to run {statement[:60]}")


def read_only_session(factory: sessionmaker[Session]) -> Session:
    """A session for work that only reads; end it with `finish_read`.

    A factory bound to a connection (the tests' outer transaction) is used as it is,
    writes through the session refused all the same."""
    bind = factory.kw.get("bind")
    session = factory(bind=_read_only_engine(bind)) if isinstance(bind, Engine) else factory()
    session.info[_GUARDED] = True
    return session


def reads_only(session: Session) -> bool:
    """Whether `session` came from `read_only_session` (for writers to refuse it)."""
    return bool(session.info.get(_GUARDED))


def finish_read(session: Session) -> None:
    """End a read. Changes left in it are an error, never saved and never quietly lost.

    The ROLLBACK costs nothing in autocommit (psycopg sends nothing and keeps its
    prepared statements); on SQLite it ends the DEFERRED transaction."""
    if session.new or session.dirty or session.deleted:
        session.rollback()
        raise WriteInARead("a read-only session was left with changes")
    session.rollback()


@event.listens_for(Session, "before_flush")
def _no_flush_in_a_read(session: Session, *_: Any) -> None:
    if reads_only(session):
        raise WriteInARead("a read-only session has changes to write")


@event.listens_for(Session, "do_orm_execute")
def _no_dml_in_a_read(state: ORMExecuteState) -> None:
    if reads_only(state.session) and (state.is_insert or state.is_update or state.is_delete):
        raise WriteInARead(f"a read-only session was asked to run {state.statement}")


def enum_type(enum_cls: type[StrEnum]) -> Enum:
    """Store a StrEnum as its value in a VARCHAR, the same on both databases."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
