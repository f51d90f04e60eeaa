"""The payment state machine: one table, and the functions that move a payment along it.

Every transition writes a status-history row and an audit event, and a payment leaving
doubt (pending/unknown) releases its holds (`shared.payments.holds`). The writes
are Core statements (one UPDATE, one multi-row INSERT), not ORM flushes: this
is the hot path of every payment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session, attributes

from shared import audit
from shared.actors import Actor
from shared.db import attach, row_of, utcnow
from shared.messaging import webhooks
from shared.models import HoldOutcome, Payment, PaymentStatus, PaymentStatusChange
from shared.payments import holds

S = PaymentStatus
IN_DOUBT = (S.PENDING, S.UNKNOWN)
# Leaving doubt approved, the payment pays the bills it held; any other way, nothing did.
_APPLIED = frozenset({S.AUTHORIZED, S.POSTED})

TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.PENDING: frozenset({S.AUTHORIZED, S.POSTED, S.DECLINED, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.AUTHORIZED, S.DECLINED, S.FAILED}),
    S.AUTHORIZED: frozenset({S.POSTED, S.VOIDED}),
    # A captured card payment can be refunded before its batch settles, as processors allow.
    S.POSTED: frozenset({S.SETTLED, S.VOIDED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.REVERSED}),
    S.SETTLED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.REVERSED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.REVERSED}),
    S.DECLINED: frozenset(),
    S.FAILED: frozenset(),
    S.VOIDED: frozenset(),
    S.REFUNDED: frozenset(),
    S.REVERSED: frozenset(),
}

# The webhook event a payment reaching a state emits (`shared.messaging.webhooks`).
_EVENTS = {
    S.POSTED: "payment.posted",
    S.SETTLED: "payment.settled",
    S.VOIDED: "payment.voided",
    S.REFUNDED: "payment.refunded",
    S.PARTIALLY_REFUNDED: "payment.refunded",
    S.REVERSED: "payment.reversed",
}

# The column that records when a payment first reached a state, where there is one.
_REACHED_AT = {S.AUTHORIZED: "authorized_at", S.POSTED: "posted_at", S.SETTLED: "settled_at"}

PAYMENTS = cast(Table, Payment.__table__)
HISTORY = cast(Table, PaymentStatusChange.__table__)
# Built once, so each is compiled once. Batches go as executemany (no RETURNING): cheapest
# on SQLite, and one pipelined round trip with psycopg.
_INSERT_PAYMENT = insert(PAYMENTS).returning(PAYMENTS.c.id)
_INSERT_HISTORY = insert(HISTORY)

# A step: (from, to, reason); from is None for the row's creation.
Step = tuple[PaymentStatus | None, PaymentStatus, str | None]


class InvalidTransition(Exception):
    def __init__(self, payment: Payment, to: PaymentStatus) -> None:
        super().__init__(
            f"payment {payment.transaction_id} cannot go from {payment.status} to {to}"
        )
        self.payment = payment
        self.to = to


def can_move(current: PaymentStatus, to: PaymentStatus) -> bool:
    return to in TRANSITIONS[current]


def _walk(
    payment: Payment,
    path: Sequence[PaymentStatus],
    reason: str | None,
    now: dt.datetime,
) -> tuple[dict[str, Any], list[Step]]:
    """Check each step of `path` from the payment's status; the columns to set, the steps."""
    changes: dict[str, Any] = {}
    steps: list[Step] = []
    current = payment.status
    for k, to in enumerate(path):
        if not can_move(current, to):
            raise InvalidTransition(payment, to)
        why = reason if k == len(path) - 1 else None
        changes |= {"status": to, "status_reason": why, "updated_at": now}
        if column := _REACHED_AT.get(to):
            changes[column] = now
        steps.append((current, to, why))
        current = to
    return changes, steps


def move(
    session: Session,
    payment: Payment,
    to: PaymentStatus,
    actor: Actor,
    reason: str | None = None,
    **columns: Any,
) -> None:
    """Move `payment` to `to`, writing status history and an audit event.

    `columns` are other payment columns to set in the same UPDATE (e.g. what the
    gateway said about the card).
    """
    advance(session, payment, (to,), actor, reason, **columns)


def advance(
    session: Session,
    payment: Payment,
    path: Sequence[PaymentStatus],
    actor: Actor,
    reason: str | None = None,
    **columns: Any,
) -> None:
    """Move `payment` along `path` (e.g. authorized, then posted) with one UPDATE.

    Each step is checked and gets its history row and audit event; `reason` is
    the last step's.
    """
    if payment.id is None:
        session.flush()  # a payment added but not yet written: it needs its id
    now = utcnow()
    was_in_doubt = payment.status in IN_DOUBT
    changes, steps = _walk(payment, path, reason, now)
    changes |= columns
    if was_in_doubt and path[-1] not in IN_DOUBT:
        outcome = HoldOutcome.APPLIED if path[-1] in _APPLIED else HoldOutcome.RELEASED
        holds.release(session, payment.id, outcome, now)
    session.connection().execute(
        update(PAYMENTS).where(PAYMENTS.c.id == payment.id).values(changes)
    )
    for key, value in changes.items():
        # The row has these values now; the object must not write them again.
        attributes.set_committed_value(payment, key, value)
    write_history(session, payment, steps, actor, now)


def create(
    session: Session, payment: Payment, actor: Actor, through: Sequence[PaymentStatus] = ()
) -> None:
    """Write a new `pending` payment already moved along `through`, in one INSERT.

    Cash and cheque payments are created and posted in one transaction; writing
    the final row at once saves an UPDATE, and the history rows still show
    every step. `payment` becomes a persistent object of `session`.
    """
    now = utcnow()
    payment.status, payment.created_at, payment.updated_at = S.PENDING, now, now
    changes, steps = _walk(payment, through, None, now)
    for key, value in changes.items():
        setattr(payment, key, value)
    payment.id = session.connection().execute(_INSERT_PAYMENT, row_of(payment)).scalar_one()
    attach(session, payment)
    write_history(session, payment, [(None, S.PENDING, None), *steps], actor, now)


def write_history(
    session: Session, payment: Payment, steps: Sequence[Step], actor: Actor, at: dt.datetime
) -> None:
    """One history row per step (one statement), one audit event per transition."""
    who = str(actor)
    session.connection().execute(
        _INSERT_HISTORY,
        [
            {
                "payment_id": payment.id,
                "from_status": previous,
                "to_status": to,
                "at": at,
                "actor": who,
                "reason": reason,
            }
            for previous, to, reason in steps
        ],
    )
    for previous, to, reason in steps:
        if previous is None:
            continue  # the creation has its own event, written by the creator
        audit.record(
            session,
            actor,
            audit.AuditAction.PAYMENT_STATUS_CHANGED,
            "payment",
            payment.transaction_id,
            {"from": str(previous), "to": str(to), "amount": payment.amount},
            reason,
        )
        if event := _EVENTS.get(to):
            webhooks.emit(
                session,
                event,
                {
                    "transaction_id": payment.transaction_id,
                    "status": str(to),
                    "amount": payment.amount,
                    "currency": payment.currency,
                    "channel": str(payment.channel),
                    "tender": str(payment.tender),
                    "at": at.isoformat(),
                },
            )
