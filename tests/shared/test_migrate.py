"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, select, text, update

import shared.models  # noqa: F401  (registers every table)
from shared import audit
from shared.actors import SYSTEM
from shared.db import Base, make_engine, make_sessionmaker, utcnow
from shared.migrate import upgrade
from shared.models import AuditChainHead, AuditEvent, RateLimitWindow
from tests.conftest import Database
from tests.support.databases import TEST_KEYS, create_database, drop_schema


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_an_existing_deployment_gets_the_new_permissions_on_its_default_roles(
    tmp_path: Path,
) -> None:
    """A database made before 0014, with the default roles of that time: after upgrading,
    agents may refresh balances and work the exceptions queue, supervisors approve
    overrides, and an auditor still cannot refresh."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0013")
    engine = make_engine(url)
    before = {"agent": ["customers:view"], "supervisor": ["refunds:approve"], "auditor": []}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO permissions (code, description) VALUES (:c, :c)"),
            [{"c": "customers:view"}, {"c": "refunds:approve"}],
        )
        for name, codes in before.items():
            role_id = conn.execute(
                text("INSERT INTO roles (name, description) VALUES (:n, :n) RETURNING id"),
                {"n": name},
            ).scalar_one()
            for code in codes:
                conn.execute(
                    text("INSERT INTO role_permissions VALUES (:r, :c)"),
                    {"r": role_id, "c": code},
                )
    upgrade(url)
    with engine.connect() as conn:
        granted = {
            (name, code)
            for name, code in conn.execute(
                text(
                    "SELECT r.name, p.permission_code FROM roles r "
                    "JOIN role_permissions p ON p.role_id = r.id"
                )
            )
        }
    engine.dispose()
    assert {("agent", "balances:refresh"), ("agent", "exceptions:work")} <= granted
    assert ("supervisor", "overrides:approve") in granted
    # (0042 gives auditors `terminals:view`, read-only kiosk health; nothing of 0014's.)
    assert {code for name, code in granted if name == "auditor"} <= {"terminals:view"}


def test_an_existing_deployment_gets_the_finance_permissions(tmp_path: Path) -> None:
    """A database at 0041 with its default roles: after 0050 cashiers operate drawers,
    supervisors approve their over/short, finance prepares deposits; agents get none."""
    url = f"sqlite:///{tmp_path / 'before-finance.db'}"
    upgrade(url, "0041")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO permissions (code, description) VALUES ('payments:view', 'x')")
        )
        for name in ("agent", "cashier", "supervisor", "finance"):
            role_id = conn.execute(
                text("INSERT INTO roles (name, description) VALUES (:n, :n) RETURNING id"),
                {"n": name},
            ).scalar_one()
            conn.execute(
                text("INSERT INTO role_permissions VALUES (:r, 'payments:view')"), {"r": role_id}
            )
    upgrade(url)
    with engine.connect() as conn:
        granted = {
            (name, code)
            for name, code in conn.execute(
                text(
                    "SELECT r.name, p.permission_code FROM roles r "
                    "JOIN role_permissions p ON p.role_id = r.id"
                )
            )
        }
    engine.dispose()
    assert {
        ("cashier", "drawers:operate"),
        ("supervisor", "drawers:operate"),
        ("supervisor", "drawers:approve"),
        ("finance", "deposits:prepare"),
    } <= granted
    # Agents get nothing of finance (0042 gives them `terminals:view`, the kiosks' health).
    agent = {code for name, code in granted if name == "agent"}
    assert agent == {"payments:view", "terminals:view"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_trail_written_before_keying_still_verifies_and_is_anchored(
    backend: str, tmp_path: Path
) -> None:
    """Events hashed with plain SHA-256 before migration 0020 verify as written; the first
    keyed event's HMAC covers them, so editing one of them still shows."""
    url, schema = create_database(backend, tmp_path, revision="0013")
    engine = make_engine(url)
    try:
        _legacy_events(engine, 3)
        upgrade(url)
        factory = make_sessionmaker(engine, TEST_KEYS)
        with factory() as db:
            result = audit.verify(db)
            assert (result.ok, result.checked, result.unkeyed) == (True, 3, 3)
            audit.record(db, SYSTEM, "test:after:keying", "thing", 4)
            db.commit()
            result = audit.verify(db)
            assert (result.ok, result.checked, result.unkeyed) == (True, 4, 3)
            assert db.scalar(select(AuditChainHead.keyed_from)) == 4
        with factory() as db:  # rolled back at the end: this is a tamperer's work
            if backend == "postgres":
                db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            else:
                db.execute(text("DROP TRIGGER audit_events_no_update"))
            db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(reason="edited"))
            # Recomputing the plain hashes of the old events does not help: the first keyed
            # event's HMAC covers the last of them.
            prev = db.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 1))
            for seq in (2, 3):
                event = db.get(AuditEvent, seq)
                assert event is not None and prev is not None
                fields = audit._fields({name: getattr(event, name) for name in audit._HASHED})
                event.prev_hash, event.hash = prev, audit.event_hash(None, prev, fields)
                prev = event.hash
            db.flush()
            result = audit.verify(db)
            assert (result.ok, result.broken_seq) == (False, 4)
            db.rollback()
    finally:
        engine.dispose()
        drop_schema(schema)


def _legacy_events(engine: Engine, n: int) -> None:
    """Events as the code before keying wrote them (schema 0013)."""
    prev = audit.GENESIS
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            row = {
                "seq": seq,
                "at": utcnow(),
                "actor_type": "system",
                "actor_id": "old-code",
                "action": "test:before:keying",
                "object_type": "thing",
                "object_id": str(seq),
                "details": {"n": seq},
                "reason": None,
                "source_ip": None,
                "prev_hash": prev,
            }
            row["hash"] = prev = audit.event_hash(None, prev, audit._fields(row))
            conn.execute(insert(AuditEvent.__table__), row)  # type: ignore[arg-type]
        conn.execute(
            text("UPDATE audit_chain_head SET seq = :seq, hash = :hash"), {"seq": n, "hash": prev}
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rate_limit_keys_typed_in_the_clear_are_forgotten(backend: str, tmp_path: Path) -> None:
    url, schema = create_database(backend, tmp_path, revision="0020")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(RateLimitWindow.__table__),  # type: ignore[arg-type]
                [
                    {
                        "key": "portal:find:number:4111111111111111",
                        "window_start": utcnow(),
                        "count": 1,
                    }
                ],
            )
        upgrade(url)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(RateLimitWindow)) == 0
    finally:
        engine.dispose()
        drop_schema(schema)
