"""The tamper-evident audit trail: append-only, hash-chained events.

`record()` queues an event on the session; the events are chained and
written just before the session commits, so the chain-head lock is held
only for the final insert and commit, not for the whole transaction.

What protects the trail, layer by layer:

- each event's hash is an HMAC-SHA256, keyed with a key held outside the database
  (PAYDESK_AUDIT_KEY, or derived from PAYDESK_SECRET_KEY): whoever can write to the
  database but lacks the key cannot edit an event and recompute the hashes after it;
- database triggers (migration 0020) refuse UPDATE and DELETE on the events, and any
  change to the chain head but moving it forward;
- a checkpoint (`checkpoint`) is the head's sequence number and hash, signed with the
  key, to keep away from this host; `extends` proves the trail still holds it, so
  deleting the last events and moving the head back, or rewriting everything by someone
  who did get the key, shows against a checkpoint taken before.

Events written before keying began (migration 0020, `AuditChainHead.keyed_from`) keep
their plain SHA-256 hashes, as written: rewriting them would launder whatever was done
to them before. The first keyed event's HMAC covers the last plain hash, so they cannot
change without breaking it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from shared.actors import Actor
from shared.card_numbers import scrub, scrub_value
from shared.db import WriteInARead, keys_of, reads_only, utcnow
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
_HEAD = select(HEAD.c.seq, HEAD.c.hash, HEAD.c.keyed_from).where(HEAD.c.id == 1)
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
    DRAWER_OPENED = "finance:drawer:opened"
    DRAWER_COUNTED = "finance:drawer:counted"
    DRAWER_CLOSED = "finance:drawer:closed"
    DEPOSIT_PREPARED = "finance:deposit:prepared"
    CARD_DEPOSIT_EXPECTED = "finance:card_deposit:expected"
    BANK_STATEMENT_IMPORTED = "finance:bank_statement:imported"
    RECONCILED = "finance:reconciliation:matched"
    RECONCILED_BY_HAND = "finance:reconciliation:matched_by_hand"
    GL_POSTED = "finance:journal:posted"
    GL_EXPORTED = "finance:journal:exported"
    GL_EXPORT_DOWNLOADED = "finance:journal:downloaded"
    CREDIT_CREATED = "payment:credit:created"
    BALANCES_REFRESHED = "account:balance:refreshed"
    BALANCES_PULLED = "account:balance:pulled"
    BALANCE_SOURCE_SET = "integration:balance_source:set"
    INTEGRATION_CLIENT_REGISTERED = "integration:client:registered"
    INTEGRATION_CLIENT_REVOKED = "integration:client:revoked"
    INTEGRATION_TOKEN_ISSUED = "integration:token:issued"  # noqa: S105 - an event name
    BALANCES_PUSHED = "account:balance:pushed"
    WEBHOOK_SUBSCRIBED = "integration:webhook:subscribed"
    WEBHOOK_CHANGED = "integration:webhook:changed"
    WEBHOOK_SECRET_ROTATED = "integration:webhook:secret_rotated"  # noqa: S105 - an event name
    WEBHOOK_SENT_AGAIN = "integration:webhook:sent_again"
    WEBHOOK_PAUSED = "integration:webhook:paused"
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
    CATALOG_NAMES_CHANGED = "admin:catalog:names_changed"
    LOGIN_SUCCEEDED = "auth:login:succeeded"
    LOGIN_FAILED = "auth:login:failed"
    ACCOUNT_LOCKED = "auth:account:locked"
    MFA_ENROLLED = "auth:mfa:enrolled"
    PASSWORD_CHANGED = "auth:password:changed"  # noqa: S105 - an event name
    LOGOUT = "auth:session:ended"
    LOGOUT_EVERYWHERE = "auth:sessions:ended"
    DEMO_SEEDED = "system:demo:seeded"
    COUNTER_TERMINAL_CREATED = "counter:terminal:created"
    TERMINAL_REGISTERED = "admin:terminal:registered"
    TERMINAL_CODE_ISSUED = "admin:terminal:enrolment_code_issued"
    TERMINAL_REVOKED = "admin:terminal:revoked"
    TERMINAL_SERVICE_CHANGED = "admin:terminal:service_changed"
    TERMINAL_ENROLLED = "kiosk:terminal:enrolled"
    TERMINAL_ENROLMENT_REFUSED = "kiosk:terminal:enrolment_refused"
    TERMINAL_TOKEN_ISSUED = "kiosk:token:issued"  # noqa: S105 - an event name
    KIOSK_API_CALLED = "kiosk:api:called"
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
    """Queue an audit event; it is chained and written when `session` commits.

    Card numbers in the actor's name, the object's id, the details or the reason (a name
    typed at a failed sign-in, a field echoed into details) are masked first: the trail
    is kept for good, and nothing in it may ever be edited out.
    """
    if not session.in_transaction():
        session.begin()  # the event belongs to a transaction: it is dropped if that rolls back
    if reads_only(session):
        raise WriteInARead(f"audit event {action} in a read-only session")
    actor = dataclasses.replace(actor, id=scrub(actor.id))
    session.info.setdefault(_PENDING, []).append(
        _Queued(
            actor,
            str(action),
            object_type,
            scrub(str(object_id)),
            scrub_value(details or {}),
            scrub(reason) if reason is not None else None,
        )
    )


def event_hash(key: bytes | None, prev_hash: str, fields: dict[str, Any]) -> str:
    """HMAC-SHA256 of the previous hash and the fields; plain SHA-256 with no key (events
    written before keying began)."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    message = (prev_hash + canonical).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
    key = keys_of(session).audit
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
        row["hash"] = prev_hash = event_hash(key, prev_hash, _fields(row))
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
    # Events before keying began, checked with their plain SHA-256.
    unkeyed: int = 0


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
    key = keys_of(session).audit
    # A column query, not the ORM object: appends move the head with Core statements.
    head = session.execute(_HEAD).one()
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for ev in _events(session):
        if ev.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, "event missing (deleted)")
        if ev.prev_hash != prev_hash:
            return VerifyResult(False, checked, ev.seq, "previous-hash link broken")
        fields = _fields({name: getattr(ev, name) for name in _HASHED})
        if event_hash(key if ev.seq >= head.keyed_from else None, prev_hash, fields) != ev.hash:
            return VerifyResult(False, checked, ev.seq, "contents changed after writing")
        prev_hash, expected_seq, checked = ev.hash, expected_seq + 1, checked + 1
    unkeyed = min(checked, head.keyed_from - 1)
    if head.seq != checked or head.hash != prev_hash:
        return VerifyResult(
            False, checked, checked + 1, "events missing at the end of the chain", unkeyed
        )
    return VerifyResult(True, checked, unkeyed=unkeyed)


# -- checkpoints ---------------------------------------------------------------------

CHECKPOINT_FORMAT = "paydesk-audit-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file that is not one, or not signed with this deployment's key."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the trail stood: its last event's sequence number and hash, signed."""

    seq: int
    hash: str
    keyed_from: int
    taken_at: str
    signature: str

    def signed_text(self) -> str:
        return f"{CHECKPOINT_FORMAT}:{self.seq}:{self.hash}:{self.keyed_from}:{self.taken_at}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": CHECKPOINT_FORMAT,
                "seq": self.seq,
                "hash": self.hash,
                "keyed_from": self.keyed_from,
                "taken_at": self.taken_at,
                "signature": self.signature,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, key: bytes) -> Checkpoint:
        """The checkpoint in `text`, if it is one and `key` signed it."""
        try:
            data = json.loads(text)
            checkpoint = cls(
                seq=int(data["seq"]),
                hash=str(data["hash"]),
                keyed_from=int(data["keyed_from"]),
                taken_at=str(data["taken_at"]),
                signature=str(data["signature"]),
            )
        except (ValueError, TypeError, KeyError, RecursionError):
            raise CheckpointError("not an audit checkpoint") from None
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError("not an audit checkpoint")
        expected = _sign(key, checkpoint.signed_text())
        if not hmac.compare_digest(expected.encode(), checkpoint.signature.encode()):
            raise CheckpointError("the checkpoint's signature does not match this key")
        return checkpoint


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def checkpoint(session: Session, now: dt.datetime | None = None) -> Checkpoint:
    """The head as it stands, signed (take it after `verify` says the trail is whole)."""
    head = session.execute(_HEAD).one()
    taken_at = (now or utcnow()).astimezone(dt.UTC).isoformat(timespec="seconds")
    unsigned = Checkpoint(head.seq, head.hash, head.keyed_from, taken_at, "")
    signature = _sign(keys_of(session).audit, unsigned.signed_text())
    return Checkpoint(head.seq, head.hash, head.keyed_from, taken_at, signature)


def extends(session: Session, checkpoint: Checkpoint) -> str | None:
    """Why the trail does not extend `checkpoint`, or None when it does.

    With `verify` passing, the event at the checkpoint's sequence number having its hash
    proves every event up to it is as it was: each hash covers all before it.
    """
    head = session.execute(_HEAD).one()
    if head.keyed_from != checkpoint.keyed_from:
        return "keying now begins at another event than at the checkpoint"
    if head.seq < checkpoint.seq:
        return f"the trail ends at {head.seq}, before the checkpoint's {checkpoint.seq}"
    if checkpoint.seq == 0:
        return None if checkpoint.hash == GENESIS else "the checkpoint's start is not the chain's"
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == checkpoint.seq))
    if found != checkpoint.hash:
        return f"event {checkpoint.seq} is not the one the checkpoint saw"
    return None
