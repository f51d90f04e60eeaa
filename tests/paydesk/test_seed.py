"""`paydesk seed` writes rows behind the ORM's back: they must read back like any other,
the indexes it sets aside must all come back, and a seed that stops leaves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from paydesk.demo_data import seed_demo
from paydesk.seed import seed
from shared.config import Settings
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import Customer, Payment, PaymentStatusChange, Receipt
from tests.conftest import Database


def _indexes(session: Session) -> set[tuple[str, str]]:
    if session.get_bind().dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    else:
        query = "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'"
    return {(name, sql) for name, sql in session.execute(text(query))}


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_seeded_rows_read_back_like_live_ones_and_every_index_comes_back(
    fresh_database: Database, sandbox: SandboxGateway
) -> None:
    with fresh_database.sessionmaker()() as session:
        seed_demo(session, Settings(), sandbox, sandbox)
        session.commit()
        before = _indexes(session)
        live = session.scalars(select(Payment).order_by(Payment.id.desc())).first()
        assert live is not None

        seed(session, customers=40, payments=700, currency="CAD")

        assert _indexes(session) == before
        seeded = session.scalars(select(Payment).order_by(Payment.id.desc())).first()
        assert seeded is not None and seeded.id > live.id
        # Timestamps are stored as the ORM stores them, so an exact match finds the row.
        same_time = select(Payment.id).where(Payment.created_at == seeded.created_at)
        assert seeded.id in session.scalars(same_time).all()
        assert session.scalars(
            select(PaymentStatusChange.to_status).where(PaymentStatusChange.payment_id == seeded.id)
        ).all() == ["pending", "posted"]
        receipt = session.scalars(select(Receipt).where(Receipt.payment_id == seeded.id)).one()
        assert receipt.receipt_number.endswith(f"{receipt.sequence:06d}")
        if fresh_database.backend == "postgres":
            # Vacuumed, as autovacuum would soon do: pages are marked all-visible (so
            # index-only scans work and the first reads do not write every page again).
            visible = session.scalar(
                text("SELECT relallvisible FROM pg_class WHERE oid = 'payments'::regclass")
            )
            assert visible is not None and visible > 0


def _page_cache(conn: Connection) -> int | None:
    """SQLite's page cache setting on this connection (None on PostgreSQL)."""
    if conn.dialect.name != "sqlite":
        return None
    return int(conn.connection.driver_connection.execute("PRAGMA cache_size").fetchone()[0])


def test_a_seed_that_stops_half_way_leaves_nothing_behind(
    fresh_database: Database, sandbox: SandboxGateway
) -> None:
    keys = fresh_database.sessionmaker().kw["info"]
    with fresh_database.engine.connect() as conn, Session(bind=conn, info=keys) as session:
        seed_demo(session, Settings(), sandbox, sandbox)
        session.commit()
        before = _indexes(session), _count(session, Customer), _count(session, Payment)
        page_cache = _page_cache(conn)

        def stop(_written: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            seed(session, customers=20, payments=6000, currency="CAD", progress=stop)
        session.rollback()

        assert (_indexes(session), _count(session, Customer), _count(session, Payment)) == before
        # The seed's 1 GiB page cache goes with it; the connection is back to its own.
        assert _page_cache(conn) == page_cache
