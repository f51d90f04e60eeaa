"""Possible duplicates: two payments of the same amount to the same account within ten
minutes, neither of them declined, failed or voided.

The rule is the customer view's (its "Duplicate suspect" flag); posting applies it to each
new payment and opens a possible-duplicate exception, so the pair reaches the exceptions
queue even when nobody opens that customer. The look-up is one indexed query per posted
payment (allocations by account, payments by id).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import Actor
from shared.exceptions import cases
from shared.models import Allocation, ExceptionKind, Payment, PaymentStatus

WITHIN = dt.timedelta(minutes=10)
# A declined or voided attempt followed by a retry of the same amount is not a duplicate.
NOT_TAKEN = frozenset({PaymentStatus.DECLINED, PaymentStatus.FAILED, PaymentStatus.VOIDED})


def earlier_twins(session: Session, payment: Payment) -> list[tuple[Payment, int]]:
    """Taken payments of the same amount to one of this payment's accounts in the ten
    minutes before it, with that account's id."""
    mine = select(Allocation.account_id).where(Allocation.payment_id == payment.id)
    rows = session.execute(
        select(Payment, Allocation.account_id)
        .join(Allocation, Allocation.payment_id == Payment.id)
        .where(
            Allocation.account_id.in_(mine.scalar_subquery()),
            Payment.id != payment.id,
            Payment.amount == payment.amount,
            Payment.created_at >= payment.created_at - WITHIN,
            Payment.created_at <= payment.created_at,
            Payment.status.not_in(NOT_TAKEN),
        )
        .order_by(Payment.created_at, Payment.id)
    ).all()
    seen: set[int] = set()
    twins = []
    for twin, account_id in rows:
        if twin.id not in seen:
            seen.add(twin.id)
            twins.append((twin, account_id))
    return twins


def flag(session: Session, payment: Payment, actor: Actor) -> None:
    """Open a possible-duplicate exception for each earlier twin of `payment`."""
    for twin, account_id in earlier_twins(session, payment):
        cases.open_case(
            session,
            actor,
            ExceptionKind.POSSIBLE_DUPLICATE,
            f"{twin.transaction_id}/{payment.transaction_id}",
            payment_id=payment.id,
            customer_id=payment.customer_id,
            account_id=account_id,
            amount=payment.amount,
            details={"first": twin.transaction_id, "second": payment.transaction_id},
        )
