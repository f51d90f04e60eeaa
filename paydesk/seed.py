"""Bulk data for benchmarks: `paydesk seed --customers N --payments M`.

Writes rows in large batches straight to the driver (not the service: a million
payments through the full service would take hours), customers with their search
terms. Payments are posted or settled, each with one allocation, a status history
and a receipt, and the receipt counter moves on so later live receipts follow
without a gap. One audit event records the seeding itself.

The whole seed is one transaction: stopped half-way, it leaves nothing behind. The
secondary indexes of the tables it fills are dropped inside that transaction and built
again at the end, because one sorted build is far quicker than millions of inserts at
random places in a B-tree larger than the cache (10M payments: from over an hour on
PostgreSQL to the figures in bench/RESULTS.md). Unique indexes stay, so a duplicate
still fails at once.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import SYSTEM
from shared.db import Base, utcnow
from shared.identifiers import receipt_number
from shared.models import (
    Account,
    Allocation,
    Customer,
    CustomerSearchTerm,
    Department,
    FeeType,
    Invoice,
    Payment,
    PaymentStatusChange,
    Receipt,
    ReceiptSequence,
)
from shared.models.customers import search_term_rows

BATCH = 5_000
Progress = Callable[[int], object]


def _max_id(session: Session, column: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0)


def _insert(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Rows straight to the driver: COPY on PostgreSQL, a prepared `executemany` on
    SQLite, each value converted by its column's type as SQLAlchemy would. The ORM's
    bulk insert spent four fifths of a SQLite seed compiling and caching statements."""
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        statement = f"COPY {model.__tablename__} ({names}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])
        return
    table = model.__table__
    convert = [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
    raw.executemany(
        f"INSERT INTO {model.__tablename__} ({names}) VALUES ({', '.join('?' * len(columns))})",  # noqa: S608 - model names
        [tuple(row[c] if to is None else to(row[c]) for c, to in convert) for row in rows],
    )


# The tables the seed fills, whose non-unique indexes it sets aside while it writes.
FILLED = (
    Customer,
    CustomerSearchTerm,
    Account,
    Invoice,
    Payment,
    Allocation,
    PaymentStatusChange,
    Receipt,
)
# Memory for sorting during the index builds and for the SQLite page cache (KiB).
BUILD_MEMORY_KIB = 1024 * 1024

_PG_SECONDARY = text(
    """
    SELECT 'DROP INDEX ' || CAST(x.indexrelid AS regclass), pg_get_indexdef(x.indexrelid)
    FROM pg_index x
    WHERE x.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT x.indisunique
    ORDER BY 1
    """
)


def _secondary_indexes(session: Session, tables: list[str]) -> list[tuple[str, str]]:
    """(DROP statement, CREATE statement) of each non-unique index on these tables, as
    the database itself holds it (migrations made them, not the models)."""
    if session.get_bind().dialect.name == "postgresql":
        return [
            (drop, create) for drop, create in session.execute(_PG_SECONDARY, {"tables": tables})
        ]
    found = []
    for table in tables:
        for row in session.execute(text(f"PRAGMA index_list('{table}')")).mappings():
            if row["origin"] == "c" and not row["unique"]:
                create = session.scalar(
                    text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"),
                    {"n": row["name"]},
                )
                found.append((f'DROP INDEX "{row["name"]}"', create))
    return sorted(found)


@contextmanager
def _indexes_set_aside(session: Session) -> Iterator[None]:
    """Drop the filled tables' non-unique indexes, write, then build them again, all in
    the caller's transaction, with generous memory for the writing and the sorting."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY_KIB}kB'"))
        with _set_aside(session):
            yield
        return
    # SQLite: the page cache is the connection's, not the transaction's; put it back.
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cache = raw.execute("PRAGMA cache_size").fetchone()[0]
    try:
        raw.execute(f"PRAGMA cache_size = -{BUILD_MEMORY_KIB}")
        with _set_aside(session):
            yield
    finally:
        # Interrupted mid-statement, the connection may be closed already: nothing to restore.
        with suppress(sqlite3.Error):
            raw.execute(f"PRAGMA cache_size = {int(cache)}")


@contextmanager
def _set_aside(session: Session) -> Iterator[None]:
    indexes = _secondary_indexes(session, [model.__tablename__ for model in FILLED])
    for drop, _create in indexes:
        session.execute(text(drop))
    yield
    for _drop, create in indexes:
        session.execute(text(create))


def _chunks(total: int, size: int = BATCH) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def seed(
    session: Session,
    *,
    customers: int,
    payments: int,
    currency: str,
    progress: Progress | None = None,
) -> None:
    rng = random.Random(customers * 31 + payments)
    tick = progress or (lambda _n: None)
    fees = session.execute(select(FeeType, Department).join(Department)).all()
    if not fees:
        raise RuntimeError("no departments yet: run `paydesk demo` or seed the demo data first")
    first_customer = _max_id(session, Customer.id) + 1
    first_account = _max_id(session, Account.id) + 1
    first_invoice = _max_id(session, Invoice.id) + 1
    first_payment = _max_id(session, Payment.id) + 1
    now = utcnow()

    with _indexes_set_aside(session):
        for start, end in _chunks(customers):
            people: list[dict[str, Any]] = [
                {
                    "id": first_customer + i,
                    "customer_number": f"S-{first_customer + i:09d}",
                    "name": f"Resident {first_customer + i}",
                    "email": f"resident{first_customer + i}@example.net",
                    "phone": f"+1 613 {rng.randint(200, 999)} {rng.randint(0, 9999):04d}",
                    "postal_code": "K1A 0B1",
                    "preferred_locale": "en",
                    "created_at": now,
                }
                for i in range(start, end)
            ]
            _insert(session, Customer, people)
            # Core inserts skip the ORM events that keep the search terms; write them here.
            _insert(
                session,
                CustomerSearchTerm,
                [
                    row
                    for p in people
                    for row in search_term_rows(p["id"], p["name"], p["email"], p["phone"])
                ],
            )
            # One account and one invoice per customer, departments in turn.
            _insert(
                session,
                Account,
                [
                    {
                        "id": first_account + i,
                        "account_number": f"SA-{first_account + i:09d}",
                        "department_id": fees[i % len(fees)][1].id,
                        "customer_id": first_customer + i,
                        "source_system": "local",
                        "status": "active",
                        "access_code": f"{i % 1_000_000:06d}",
                        "balance": 0,
                        "balance_as_of": now,
                        "created_at": now,
                    }
                    for i in range(start, end)
                ],
            )
            _insert(
                session,
                Invoice,
                [
                    {
                        "id": first_invoice + i,
                        "invoice_number": f"SB-{first_invoice + i:09d}",
                        "account_id": first_account + i,
                        "fee_type_id": fees[i % len(fees)][0].id,
                        "description": "Seeded bill",
                        "amount_due": 10**9,
                        "amount_paid": 0,
                        "due_date": now.date(),
                        "status": "open",
                        "issued_at": now,
                    }
                    for i in range(start, end)
                ],
            )

        year = now.year
        dialect = session.get_bind().dialect.name
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            ins(ReceiptSequence).values(year=year, last_number=0).on_conflict_do_nothing()
        )
        next_receipt = (
            int(
                session.scalar(
                    select(ReceiptSequence.last_number).where(ReceiptSequence.year == year)
                )
                or 0
            )
            + 1
        )
        channels = ("portal", "kiosk", "counter", "api")
        for start, end in _chunks(payments):
            pays, allocs, history, receipts_ = [], [], [], []
            for i in range(start, end):
                pid = first_payment + i
                c = rng.randrange(customers) if customers else 0
                fee, dept = fees[c % len(fees)]
                amount = rng.randint(500, 250_000)
                at = now - dt.timedelta(seconds=rng.randint(0, 365 * 86400))
                settled = rng.random() < 0.8
                card = rng.random() < 0.7
                pays.append(
                    {
                        "id": pid,
                        "transaction_id": f"TS-{pid:012d}",
                        "idempotency_key": f"seed-{pid}",
                        "customer_id": first_customer + c,
                        "channel": channels[pid % 4],
                        "amount": amount,
                        "currency": currency,
                        "tender": "card" if card else "cash",
                        "status": "settled" if settled else "posted",
                        "card_brand": "visa" if card else None,
                        "card_last4": f"{pid % 10000:04d}" if card else None,
                        "gateway": "sandbox" if card else None,
                        "locale": "en",
                        "refunded_amount": 0,
                        "created_at": at,
                        "authorized_at": at if card else None,
                        "posted_at": at,
                        "settled_at": at + dt.timedelta(days=1) if settled else None,
                        "updated_at": at,
                    }
                )
                allocs.append(
                    {
                        "payment_id": pid,
                        "invoice_id": first_invoice + c,
                        "account_id": first_account + c,
                        "fee_type_id": fee.id,
                        "department_id": dept.id,
                        "gl_account": fee.gl_account,
                        "amount": amount,
                    }
                )
                history.append(
                    {
                        "payment_id": pid,
                        "from_status": None,
                        "to_status": "pending",
                        "at": at,
                        "actor": "system:seed",
                    }
                )
                history.append(
                    {
                        "payment_id": pid,
                        "from_status": "pending",
                        "to_status": "posted",
                        "at": at,
                        "actor": "system:seed",
                    }
                )
                seq = next_receipt + i
                receipts_.append(
                    {
                        "receipt_number": receipt_number(year, seq),
                        "year": year,
                        "sequence": seq,
                        "payment_id": pid,
                        "issued_at": at,
                    }
                )
            _insert(session, Payment, pays)
            _insert(session, Allocation, allocs)
            _insert(session, PaymentStatusChange, history)
            _insert(session, Receipt, receipts_)
            tick(end - start)
    session.execute(
        update(ReceiptSequence)
        .where(ReceiptSequence.year == year)
        .values(last_number=next_receipt - 1 + payments)
    )
    if dialect == "postgresql":
        # Explicit ids bypassed the sequences; move them past what we wrote.
        for table in ("customers", "accounts", "invoices", "payments"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    audit.record(
        session,
        SYSTEM,
        "system:seed:bulk",
        "system",
        "seed",
        {"customers": customers, "payments": payments},
    )
    session.commit()
    bind = session.get_bind()
    # Only on a session of its own: one joined to an outer transaction has not really
    # committed, and VACUUM on another connection would wait for its locks for ever.
    if dialect == "postgresql" and isinstance(bind, Engine):
        _vacuum(bind)


def _vacuum(engine: Engine) -> None:
    """What autovacuum would do soon after: statistics (without them the planner guesses,
    e.g. reads payments newest first to find a few customers' ones), and the visibility
    map and hint bits, without which the first reads of each page write it again. Outside
    the transaction, as VACUUM must be."""
    with engine.connect() as conn:
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        for model in FILLED:
            autocommit.execute(text(f"VACUUM (ANALYZE) {model.__tablename__}"))
