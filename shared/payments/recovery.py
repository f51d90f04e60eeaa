"""The recovery job: ask the gateway about card payments we are unsure of and move them on,
and send those that stay in doubt too long to the exceptions queue."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import RECOVERY_JOB
from shared.db import transaction, utcnow
from shared.exceptions import cases
from shared.gateway.protocol import GatewayTimeout, PaymentGateway
from shared.models import ExceptionKind, Payment, PaymentStatus, Tender
from shared.payments.posting import apply_gateway_answer
from shared.payments.states import IN_DOUBT, move

log = logging.getLogger(__name__)


def in_doubt_ids(session: Session, older_than: dt.timedelta) -> list[int]:
    cutoff = utcnow() - older_than
    return list(
        session.scalars(
            select(Payment.id)
            .where(
                Payment.status.in_(IN_DOUBT),
                Payment.tender == Tender.CARD,
                Payment.updated_at <= cutoff,
            )
            .order_by(Payment.id)
            .limit(200)
        )
    )


def resolve(session: Session, gateway: PaymentGateway, payment_id: int) -> PaymentStatus | None:
    """Resolve one payment; returns its new status, or None if it is still in doubt."""
    payment = session.scalars(
        select(Payment).where(Payment.id == payment_id).with_for_update(skip_locked=True)
    ).one_or_none()
    if payment is None or payment.status not in IN_DOUBT:
        return None
    if payment.status is PaymentStatus.PENDING:
        # The process that wrote it never recorded an answer (it crashed or hung).
        move(session, payment, PaymentStatus.UNKNOWN, RECOVERY_JOB, "No answer was recorded.")
    try:
        answer = gateway.lookup(payment.idempotency_key)
    except GatewayTimeout:
        return None
    if answer is None:
        move(
            session,
            payment,
            PaymentStatus.FAILED,
            RECOVERY_JOB,
            "The card processor has no record of this payment; nothing was charged.",
        )
        return payment.status
    apply_gateway_answer(session, gateway, payment, answer, RECOVERY_JOB)
    return payment.status


def recover(
    factory: sessionmaker[Session], gateway: PaymentGateway, older_than: dt.timedelta
) -> int:
    """One pass of the job; returns how many payments it resolved."""
    with transaction(factory) as session:
        ids = in_doubt_ids(session, older_than)
    resolved = 0
    for payment_id in ids:
        try:
            with transaction(factory) as session:
                if resolve(session, gateway, payment_id) is not None:
                    resolved += 1
        except Exception:
            log.exception("recovery failed", extra={"payment_id": payment_id})
    return resolved


def flag_long_in_doubt(session: Session, older_than: dt.timedelta) -> int:
    """Open a long-unknown exception for each card payment in doubt for longer than
    `older_than` (once per payment); returns how many are in doubt that long."""
    cutoff = utcnow() - older_than
    found = list(
        session.scalars(
            select(Payment)
            .where(
                Payment.status.in_(IN_DOUBT),
                Payment.tender == Tender.CARD,
                Payment.created_at <= cutoff,
            )
            .order_by(Payment.id)
            .limit(200)
        )
    )
    for payment in found:
        cases.open_case(
            session,
            RECOVERY_JOB,
            ExceptionKind.LONG_UNKNOWN,
            payment.transaction_id,
            payment_id=payment.id,
            customer_id=payment.customer_id,
            amount=payment.amount,
            details={"status": str(payment.status), "since": payment.created_at.isoformat()},
        )
    return len(found)
