"""The payment state machine: one table, one function that moves a payment along it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.models import Payment, PaymentStatus, PaymentStatusChange

S = PaymentStatus

TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.PENDING: frozenset({S.AUTHORIZED, S.POSTED, S.DECLINED, S.FAILED, S.UNKNOWN}),
    S.UNKNOWN: frozenset({S.AUTHORIZED, S.DECLINED, S.FAILED}),
    S.AUTHORIZED: frozenset({S.POSTED, S.VOIDED}),
    S.POSTED: frozenset({S.SETTLED, S.VOIDED}),
    S.SETTLED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.REVERSED}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.REVERSED}),
    S.DECLINED: frozenset(),
    S.FAILED: frozenset(),
    S.VOIDED: frozenset(),
    S.REFUNDED: frozenset(),
    S.REVERSED: frozenset(),
}

# The column that records when a payment first reached a state, where there is one.
_REACHED_AT = {S.AUTHORIZED: "authorized_at", S.POSTED: "posted_at", S.SETTLED: "settled_at"}


class InvalidTransition(Exception):
    def __init__(self, payment: Payment, to: PaymentStatus) -> None:
        super().__init__(
            f"payment {payment.transaction_id} cannot go from {payment.status} to {to}"
        )
        self.payment = payment
        self.to = to


def can_move(current: PaymentStatus, to: PaymentStatus) -> bool:
    return to in TRANSITIONS[current]


def move(
    session: Session, payment: Payment, to: PaymentStatus, actor: Actor, reason: str | None = None
) -> None:
    """Move `payment` to `to`, writing status history and an audit event."""
    if not can_move(payment.status, to):
        raise InvalidTransition(payment, to)
    now = utcnow()
    previous = payment.status
    payment.status = to
    payment.status_reason = reason
    payment.updated_at = now
    if column := _REACHED_AT.get(to):
        setattr(payment, column, now)
    session.add(
        PaymentStatusChange(
            payment_id=payment.id,
            from_status=previous,
            to_status=to,
            at=now,
            actor=str(actor),
            reason=reason,
        )
    )
    audit.record(
        session,
        actor,
        audit.AuditAction.PAYMENT_STATUS_CHANGED,
        "payment",
        payment.transaction_id,
        {"from": str(previous), "to": str(to), "amount": payment.amount},
        reason,
    )
