"""The tamper-evident audit trail: append-only, hash-chained events.

`record()` queues an event on the session; the events are chained and
written just before the session commits, so the chain-head lock is held
only for the final insert and commit, not for the whole transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from shared.actors import Actor
from shared.db import WriteInARead, reads_only, utcnow
from shared.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
_PENDING = "paydesk.audit.pending"

EVENTS = cast(Table, AuditEvent.__table__)
HEAD = cast(Table, AuditChainHead.__table__)
# Built once, so each is compiled once; the events go as one executemany.
_LOCK_HEAD = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1).with_for_update()
_INSERT_EVENTS = insert(EVENTS)
_MOVE_HEAD = (
    update(HEAD)
    .where(HEAD.c.id == 1)
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
_HEAD_SEQ = select(HEAD.c.seq).where(HEAD.c.id == 1)
# What an event's hash covers (with the previous hash).
_HASHED = (
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "details",
    "reason",
    "source_ip",
)


class AuditAction(StrEnum):
    """Event names, "area:subject:action"."""

    PAYMENT_CREATED = "payment:payment:created"
    PAYMENT_STATUS_CHANGED = "payment:status:changed"
    PAYMENT_REQUEST_REFUSED = "payment:payment:refused"
    RECEIPT_ISSUED = "receipt:receipt:issued"
    RECEIPT_DELIVERED = "receipt:delivery:recorded"
    RECEIPT_EMAIL_REQUESTED = "receipt:email:requested"
    INVOICE_PAID = "invoice:balance:applied"
    SETTLEMENT_IMPORTED = "settlement:batch:imported"
    CREDIT_CREATED = "payment:credit:created"
    BALANCES_REFRESHED = "account:balance:refreshed"
    EXCEPTION_OPENED = "exception:case:opened"
    EXCEPTION_ASSIGNED = "exception:case:assigned"
    EXCEPTION_RESOLVED = "exception:case:resolved"
    APPROVAL_REQUESTED = "approval:request:created"
    APPROVAL_APPROVED = "approval:request:approved"
    APPROVAL_REJECTED = "approval:request:rejected"
    APPROVAL_EXPIRED = "approval:request:expired"
    APPROVAL_CANCELLED = "approval:request:cancelled"
    APPROVAL_EXECUTED = "approval:request:executed"
    APPROVAL_FAILED = "approval:request:failed"
    REFUND_EXECUTED = "payment:refund:executed"
    VOID_EXECUTED = "payment:void:executed"
    REVERSAL_RECORDED = "payment:reversal:recorded"
    ADJUSTMENT_APPLIED = "account:adjustment:applied"
    OVERRIDE_USED = "payment:override:used"
    WRITE_BACK_CONFIRMED = "integration:write_back:confirmed"
    STAFF_CREATED = "admin:user:created"
    STAFF_PASSWORD_RESET = "admin:password:reset"  # noqa: S105 - an event name
    STAFF_UNLOCKED = "admin:user:unlocked"
    STAFF_DEACTIVATED = "admin:user:deactivated"
    STAFF_REACTIVATED = "admin:user:reactivated"
    STAFF_MFA_RESET = "admin:mfa:reset"
    ROLE_ASSIGNED = "admin:role:assigned"
    ROLE_REMOVED = "admin:role:removed"
    ROLE_CREATED = "admin:role:created"
    ROLE_PERMISSIONS_CHANGED = "admin:role:permissions_changed"
    LOGIN_SUCCEEDED = "auth:login:succeeded"
    LOGIN_FAILED = "auth:login:failed"
    ACCOUNT_LOCKED = "auth:account:locked"
    MFA_ENROLLED = "auth:mfa:enrolled"
    PASSWORD_CHANGED = "auth:password:changed"  # noqa: S105 - an event name
    LOGOUT = "auth:session:ended"
    LOGOUT_EVERYWHERE = "auth:sessions:ended"
    DEMO_SEEDED = "system:demo:seeded"
    COUNTER_TERMINAL_CREATED = "counter:terminal:created"
    INTERACTION_STARTED = "interaction:interaction:started"
    INTERACTION_ENDED = "interaction:interaction:ended"
    INTERACTION_CUSTOMER_SET = "interaction:customer:identified"
    INTERACTION_NOTE_ADDED = "interaction:note:added"
    INTERACTION_NOTE_MASKED = "interaction:note:masked"
    INTERACTION_LINK_ADDED = "interaction:link:added"
    INTERACTION_OUTCOME_SET = "interaction:outcome:set"
    INTERACTION_FOLLOW_UP_SCHEDULED = "interaction:follow_up:scheduled"
    INTERACTION_FOLLOW_UP_DONE = "interaction:follow_up:done"
    SUPPORT_REQUEST_CREATED = "support:request:created"
    SUPPORT_REQUEST_ASSIGNED = "support:request:assigned"
    SUPPORT_STATUS_CHANGED = "support:status:changed"
    SUPPORT_PRIORITY_CHANGED = "support:priority:changed"
    SUPPORT_REPLY_SENT = "support:reply:sent"
    SUPPORT_REPLY_RECORDED = "support:reply:recorded"
    SUPPORT_REQUEST_RESOLVED = "support:request:resolved"
    SUPPORT_NOTE_ADDED = "support:note:added"
    SUPPORT_LINK_ADDED = "support:link:added"
    SUPPORT_CUSTOMER_SET = "support:customer:identified"
    SUPPORT_RECEIPT_RESENT = "support:receipt:resent"
    HELP_TOPIC_CHANGED = "admin:help_topic:changed"


@dataclass(frozen=True, slots=True)
class _Queued:
    actor: Actor
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    reason: str | None


def record(
    session: Session,
    actor: Actor,
    action: AuditAction | str,
    object_type: str,
    object_id: object,
    details: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Queue an audit event; it is chained and written when `session` commits."""
    if not session.in_transaction():
        session.begin()  # the event belongs to a transaction: it is dropped if that rolls back
    if reads_only(session):
        raise WriteInARead(f"audit event {action} in a read-only session")
    session.info.setdefault(_PENDING, []).append(
        _Queued(actor, str(action), object_type, str(object_id), details or {}, reason)
    )


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _fields(values: Mapping[str, Any]) -> dict[str, Any]:
    fields = {name: values[name] for name in _HASHED}
    at: dt.datetime = values["at"]
    fields["at"] = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return fields


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    queued: list[_Queued] = session.info.pop(_PENDING, [])
    if not queued:
        return
    session.flush()  # anything the ORM still holds goes first, outside the head lock
    connection = session.connection()
    # Locking the head row serialises appends across processes (the migration creates it).
    seq, prev_hash = connection.execute(_LOCK_HEAD).one()
    rows = []
    for item in queued:
        seq += 1
        row = {
            "seq": seq,
            "at": utcnow(),
            "actor_type": str(item.actor.type),
            "actor_id": item.actor.id,
            "action": item.action,
            "object_type": item.object_type,
            "object_id": item.object_id,
            "details": item.details,
            "reason": item.reason,
            "source_ip": item.actor.source_ip,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = event_hash(prev_hash, _fields(row))
        rows.append(row)
    connection.execute(_INSERT_EVENTS, rows)
    connection.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev_hash})


@event.listens_for(Session, "after_transaction_end")
def _drop_queued(session: Session, transaction: SessionTransaction) -> None:
    # Events queued in a transaction that ended without commit never happened.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str | None = None


def _events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Walk the chain; report the first event that was edited, deleted or inserted."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for ev in _events(session):
        if ev.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, "event missing (deleted)")
        if ev.prev_hash != prev_hash:
            return VerifyResult(False, checked, ev.seq, "previous-hash link broken")
        if event_hash(prev_hash, _fields({name: getattr(ev, name) for name in _HASHED})) != ev.hash:
            return VerifyResult(False, checked, ev.seq, "contents changed after writing")
        prev_hash, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
    # A column query, not the ORM object: appends move the head with Core statements.
    head_seq = session.scalar(_HEAD_SEQ)
    if head_seq is not None and head_seq != checked:
        return VerifyResult(False, checked, checked + 1, "events missing at the end of the chain")
    return VerifyResult(True, checked)
