"""The audit trail: chained with a key the database does not hold, guarded by triggers,
and provable against checkpoints kept elsewhere."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.models import AuditChainHead, AuditEvent
from tests.support.databases import TEST_KEYS

CLERK = Actor(ActorType.STAFF, "clerk", source_ip="10.0.0.8")
TRIGGERS = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_chain_head_no_delete",
    "audit_chain_head_forward_only",
)


def _write(db: Session, n: int) -> None:
    for i in range(n):
        audit.record(db, CLERK, audit.AuditAction.RECEIPT_DELIVERED, "receipt", f"R-{i}", {"i": i})
        db.commit()


@contextmanager
def triggers_off(db: Session) -> Iterator[None]:
    """What someone who owns the database can do: take the triggers away (inside the
    test's transaction, which is rolled back after)."""
    if db.get_bind().dialect.name == "postgresql":
        for table in ("audit_events", "audit_chain_head"):
            db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for name in TRIGGERS:
            db.execute(text(f"DROP TRIGGER {name}"))
    yield


def _rechain(db: Session, start: int, key: bytes | None) -> None:
    """Recompute every hash from `start` to the head, and the head, with `key`."""
    prev = db.scalar(select(AuditEvent.prev_hash).where(AuditEvent.seq == start))
    events = db.scalars(select(AuditEvent).where(AuditEvent.seq >= start).order_by(AuditEvent.seq))
    last = start - 1
    for event in events.all():
        fields = audit._fields({name: getattr(event, name) for name in audit._HASHED})
        event.prev_hash, event.hash = prev, audit.event_hash(key, prev or "", fields)
        prev, last = event.hash, event.seq
    db.flush()
    db.execute(update(AuditChainHead).values(seq=last, hash=prev))


def test_events_chain_and_verify(db: Session) -> None:
    _write(db, 5)
    result = audit.verify(db)
    assert result.ok
    assert (result.checked, result.unkeyed) == (5, 0)


def test_events_are_written_only_when_the_transaction_commits(db: Session) -> None:
    audit.record(db, CLERK, "test:thing:done", "thing", 1)
    db.rollback()
    db.commit()
    assert audit.verify(db).checked == 0


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).where(AuditEvent.seq == 2).values(reason="covered up"),
        delete(AuditEvent).where(AuditEvent.seq == 3),
        delete(AuditChainHead),
        update(AuditChainHead).values(seq=1),
        update(AuditChainHead).values(keyed_from=9),
    ],
    ids=["edit an event", "delete an event", "delete the head", "move the head back", "rekey"],
)
def test_the_database_refuses_to_rewrite_the_trail(db: Session, statement: object) -> None:
    _write(db, 3)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(statement)  # type: ignore[call-overload]
    assert audit.verify(db).ok


def test_postgres_refuses_to_truncate_the_trail(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    _write(db, 2)
    for table in ("audit_events", "audit_chain_head"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(f"TRUNCATE {table}"))


@pytest.mark.parametrize("field", ["details", "actor_id", "reason"])
def test_editing_an_event_breaks_verification_at_that_event(db: Session, field: str) -> None:
    _write(db, 5)
    values = {"details": {"i": 99}, "actor_id": "someone-else", "reason": "covered up"}
    with triggers_off(db):
        db.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({field: values[field]}))
    result = audit.verify(db)
    assert not result.ok
    assert result.broken_seq == 3


@pytest.mark.parametrize("key", [None, b"a-guessed-key"], ids=["sha-256", "another key"])
def test_rewriting_an_event_and_every_hash_after_it_needs_the_key(
    db: Session, key: bytes | None
) -> None:
    """The attack the review found: edit a row, recompute every later hash and the head."""
    _write(db, 5)
    with triggers_off(db):
        db.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(reason="covered up"))
        _rechain(db, 3, key)
    result = audit.verify(db)
    assert (result.ok, result.broken_seq, result.problem) == (
        False,
        3,
        "contents changed after writing",
    )


def test_deleting_an_event_breaks_verification(db: Session) -> None:
    _write(db, 5)
    with triggers_off(db):
        db.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = audit.verify(db)
    assert (result.ok, result.broken_seq) == (False, 2)


def test_deleting_the_last_event_is_noticed(db: Session) -> None:
    _write(db, 3)
    with triggers_off(db):
        db.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    result = audit.verify(db)
    assert (result.ok, result.broken_seq) == (False, 3)


def test_verifying_again_after_more_events_in_the_same_session(db: Session) -> None:
    _write(db, 3)
    assert audit.verify(db).checked == 3
    _write(db, 2)
    result = audit.verify(db)
    assert (result.ok, result.checked) == (True, 5)


# -- checkpoints ---------------------------------------------------------------------


def _saved(db: Session) -> audit.Checkpoint:
    """A checkpoint as an auditor keeps it: the file's text, read back."""
    return audit.Checkpoint.from_json(audit.checkpoint(db).to_json(), TEST_KEYS.audit)


def test_the_trail_extends_a_checkpoint_taken_before(db: Session) -> None:
    _write(db, 3)
    kept = _saved(db)
    assert kept.seq == 3
    _write(db, 4)
    assert audit.verify(db).ok
    assert audit.extends(db, kept) is None


def test_deleting_the_last_events_and_moving_the_head_back_shows_at_the_checkpoint(
    db: Session,
) -> None:
    _write(db, 5)
    kept = _saved(db)
    with triggers_off(db):
        db.execute(delete(AuditEvent).where(AuditEvent.seq > 3))
        head = db.scalars(select(AuditEvent).where(AuditEvent.seq == 3)).one()
        db.execute(update(AuditChainHead).values(seq=3, hash=head.hash))
    assert audit.verify(db).ok  # consistent in itself: only the checkpoint knows better
    assert audit.extends(db, kept) == "the trail ends at 3, before the checkpoint's 5"


def test_a_rewrite_by_someone_holding_the_key_shows_at_the_checkpoint(db: Session) -> None:
    _write(db, 5)
    kept = _saved(db)
    with triggers_off(db):
        db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(reason="covered up"))
        _rechain(db, 2, TEST_KEYS.audit)
    assert audit.verify(db).ok
    assert audit.extends(db, kept) == "event 5 is not the one the checkpoint saw"


def test_a_checkpoint_of_the_empty_trail(db: Session) -> None:
    kept = _saved(db)
    assert (kept.seq, kept.hash) == (0, audit.GENESIS)
    _write(db, 1)
    assert audit.extends(db, kept) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data | {"seq": data["seq"] - 1},
        lambda data: data | {"hash": "0" * 64},
        lambda data: data | {"taken_at": "2020-01-01T00:00:00+00:00"},
        lambda data: data | {"format": "something-else"},
        lambda data: {k: v for k, v in data.items() if k != "signature"},
        lambda data: [data],
    ],
    ids=["seq", "hash", "time", "format", "unsigned", "not an object"],
)
def test_an_edited_checkpoint_is_refused(db: Session, change: object) -> None:
    _write(db, 2)
    data = json.loads(audit.checkpoint(db).to_json())
    edited = json.dumps(change(data))  # type: ignore[operator]
    with pytest.raises(audit.CheckpointError):
        audit.Checkpoint.from_json(edited, TEST_KEYS.audit)


def test_a_checkpoint_signed_with_another_key_is_refused(db: Session) -> None:
    _write(db, 2)
    with pytest.raises(audit.CheckpointError, match="signature"):
        audit.Checkpoint.from_json(audit.checkpoint(db).to_json(), b"another-deployment")
    with pytest.raises(audit.CheckpointError):
        audit.Checkpoint.from_json("not json at all", TEST_KEYS.audit)


def test_a_checkpoint_from_before_keying_moved_is_refused(db: Session) -> None:
    _write(db, 2)
    kept = dataclasses.replace(_saved(db), keyed_from=3)
    assert audit.extends(db, kept) == "keying now begins at another event than at the checkpoint"


def test_card_numbers_are_masked_before_the_trail_keeps_them(db: Session) -> None:
    """The trail is kept for good and nothing in it may be edited: a card number typed
    into a field that reaches it (a failed sign-in's name) is masked on the way in."""
    typed = Actor(ActorType.STAFF, "4111 1111 1111 1111", "10.0.0.9")
    audit.record(
        db,
        typed,
        audit.AuditAction.LOGIN_FAILED,
        "staff_user",
        "4111-1111 1111/1111",
        {"username": "4111,1111,1111,1111", "tries": [4111111111111111]},
        reason="typed 5555555555554444",
    )
    db.commit()
    event = db.scalars(select(AuditEvent)).one()
    assert (event.actor_id, event.object_id) == ("************1111", "************1111")
    assert event.details == {"username": "************1111", "tries": ["************1111"]}
    assert event.reason == "typed ************4444"
    assert audit.verify(db).ok
