from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.models import AuditEvent

CLERK = Actor(ActorType.STAFF, "clerk", source_ip="10.0.0.8")


def _write(db: Session, n: int) -> None:
    for i in range(n):
        audit.record(db, CLERK, audit.AuditAction.RECEIPT_DELIVERED, "receipt", f"R-{i}", {"i": i})
        db.commit()


def test_events_chain_and_verify(db: Session) -> None:
    _write(db, 5)
    result = audit.verify(db)
    assert result.ok
    assert result.checked == 5


def test_events_are_written_only_when_the_transaction_commits(db: Session) -> None:
    audit.record(db, CLERK, "test:thing:done", "thing", 1)
    db.rollback()
    db.commit()
    assert audit.verify(db).checked == 0


@pytest.mark.breaks_audit_chain
@pytest.mark.parametrize("field", ["details", "actor_id", "reason"])
def test_editing_an_event_breaks_verification_at_that_event(db: Session, field: str) -> None:
    _write(db, 5)
    values = {"details": {"i": 99}, "actor_id": "someone-else", "reason": "covered up"}
    db.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({field: values[field]}))
    result = audit.verify(db)
    assert not result.ok
    assert result.broken_seq == 3


@pytest.mark.breaks_audit_chain
def test_deleting_an_event_breaks_verification(db: Session) -> None:
    _write(db, 5)
    db.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = audit.verify(db)
    assert (result.ok, result.broken_seq) == (False, 2)


@pytest.mark.breaks_audit_chain
def test_deleting_the_last_event_is_noticed(db: Session) -> None:
    _write(db, 3)
    db.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
    result = audit.verify(db)
    assert (result.ok, result.broken_seq) == (False, 3)


def test_verifying_again_after_more_events_in_the_same_session(db: Session) -> None:
    _write(db, 3)
    assert audit.verify(db).checked == 3
    _write(db, 2)
    result = audit.verify(db)
    assert (result.ok, result.checked) == (True, 5)
