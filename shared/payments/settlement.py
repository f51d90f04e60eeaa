"""End-of-day settlement: close the processor's batch and mark what it paid us as settled.

Every sale line of the report is matched to a payment by our idempotency key. What does
not match goes to the exceptions queue, once per batch and payment, never silently:

- a line for a key we do not know;
- a line for a payment that is not `posted` here (still being confirmed, voided …);
- a line whose amount differs from the payment's;
- a card payment posted here before the batch closed that the report does not list.

A "chargeback" line (the cardholder's bank took a sale back) records the reversal of its
payment at once (`corrections.record_chargeback`): the bills owe again and a reversal
exception asks a person to follow up. One that cannot be recorded (the payment is not
one we know, is not reversible, or the amount is not what is left of it) is a mismatch.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.exceptions import cases
from shared.finance import deposits
from shared.gateway.protocol import PaymentGateway, SettlementBatch, SettlementLine
from shared.models import ExceptionKind, Payment, PaymentStatus, Tender
from shared.payments import corrections
from shared.payments.states import move


def _mismatch(
    session: Session,
    actor: Actor,
    batch: SettlementBatch,
    key: str,
    problem: str,
    payment: Payment | None,
    amount: int,
    **details: object,
) -> None:
    cases.open_case(
        session,
        actor,
        ExceptionKind.SETTLEMENT_MISMATCH,
        f"{batch.batch_id}:{payment.transaction_id if payment else key}",
        payment_id=payment.id if payment else None,
        customer_id=payment.customer_id if payment else None,
        amount=amount,
        details={"batch": batch.batch_id, "problem": problem, "our_key": key, **details},
    )


def _check_line(
    session: Session,
    actor: Actor,
    batch: SettlementBatch,
    line: SettlementLine,
    payment: Payment | None,
) -> bool:
    """Settle the line's payment if it matches; otherwise open a mismatch. True if settled."""
    if payment is None:
        _mismatch(session, actor, batch, line.our_key, "unknown_payment", None, line.amount)
        return False
    if line.amount != payment.amount:
        _mismatch(
            session,
            actor,
            batch,
            line.our_key,
            "amount_differs",
            payment,
            line.amount,
            ours=payment.amount,
        )
        return False
    if payment.status in (PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED):
        # Refunded before its batch closed: the sale still settles, keeping its refund state.
        if payment.settlement_batch is None:
            payment.settlement_batch, payment.settled_at = batch.batch_id, utcnow()
        return False
    if payment.status is not PaymentStatus.POSTED:
        if payment.status is not PaymentStatus.SETTLED:
            _mismatch(
                session,
                actor,
                batch,
                line.our_key,
                "not_posted_here",
                payment,
                line.amount,
                status=str(payment.status),
            )
        return False
    payment.settlement_batch = batch.batch_id
    move(session, payment, PaymentStatus.SETTLED, actor, f"Settlement batch {batch.batch_id}")
    return True


def _check_chargeback(
    session: Session,
    actor: Actor,
    batch: SettlementBatch,
    line: SettlementLine,
    payment: Payment | None,
) -> None:
    if payment is None:
        _mismatch(session, actor, batch, line.our_key, "unknown_payment", None, line.amount)
        return
    if corrections.chargeback_recorded(session, batch.batch_id, payment):
        return
    left = payment.amount - payment.refunded_amount
    if payment.status not in corrections.REVERSIBLE or line.amount != left:
        _mismatch(
            session,
            actor,
            batch,
            line.our_key,
            "chargeback_not_recorded",
            payment,
            line.amount,
            status=str(payment.status),
            ours=left,
        )
        return
    corrections.record_chargeback(session, payment, batch_id=batch.batch_id, actor=actor)


def _missing_from_report(
    session: Session, actor: Actor, batch: SettlementBatch, until: dt.datetime, listed: set[str]
) -> None:
    """Card payments posted here before the batch closed that the report does not list."""
    posted = session.scalars(
        select(Payment).where(
            Payment.status == PaymentStatus.POSTED,
            Payment.tender == Tender.CARD,
            Payment.posted_at <= until,
        )
    )
    for payment in posted:
        if payment.idempotency_key not in listed:
            _mismatch(
                session,
                actor,
                batch,
                payment.idempotency_key,
                "missing_from_report",
                payment,
                payment.amount,
            )


def import_batch(
    session: Session,
    batch: SettlementBatch,
    actor: Actor,
    until: dt.datetime | None = None,
    card_terms: deposits.CardTerms | None = None,
) -> int:
    """Mark the batch's sales settled and queue what does not match; returns how many
    payments moved. With `until` (the batch's cut-off), card payments posted before it
    but missing from the report are queued too. With `card_terms`, the batch becomes an
    expected deposit net of the processor's fees (`shared.finance.deposits`)."""
    sales = [line for line in batch.lines if line.kind == "sale"]
    chargebacks = [line for line in batch.lines if line.kind == "chargeback"]
    keys = [line.our_key for line in sales]
    wanted = keys + [line.our_key for line in chargebacks]
    payments = {
        p.idempotency_key: p
        for p in session.scalars(select(Payment).where(Payment.idempotency_key.in_(wanted)))
    }
    moved = sum(
        _check_line(session, actor, batch, line, payments.get(line.our_key)) for line in sales
    )
    # After the sales: a sale settled and charged back in one batch settles, then reverses.
    for line in chargebacks:
        _check_chargeback(session, actor, batch, line, payments.get(line.our_key))
    if until is not None:
        _missing_from_report(session, actor, batch, until, set(keys))
    audit.record(
        session,
        actor,
        audit.AuditAction.SETTLEMENT_IMPORTED,
        "settlement_batch",
        batch.batch_id,
        {
            "lines": len(batch.lines),
            "net": batch.net,
            "settled_payments": moved,
            "chargebacks": len(chargebacks),
        },
    )
    if card_terms is not None:
        deposits.record_card_batch(session, batch, actor, card_terms)
    return moved


def settle(
    session: Session,
    gateway: PaymentGateway,
    actor: Actor,
    *,
    until: dt.datetime,
    report_dir: Path | None = None,
    card_terms: deposits.CardTerms | None = None,
) -> SettlementBatch:
    """Ask the processor to close the day, keep its report file, and apply it."""
    batch = gateway.settle(until=until)
    if report_dir is not None and batch.lines:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / f"settlement-{batch.batch_id}.csv").write_text(batch.report_csv)
    import_batch(session, batch, actor, until, card_terms)
    return batch


# -- when a posted card payment should settle ---------------------------------------------


def next_batch_close(after: dt.datetime, close: dt.time, timezone: str) -> dt.datetime:
    """The first batch close strictly after `after`, in UTC. The close is a wall-clock time
    in `timezone`, so it stays at 23:00 local across summer time."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    day = local.date()
    while True:
        candidate = dt.datetime.combine(day, close, zone)
        if candidate > local:
            return candidate.astimezone(dt.UTC)
        day += dt.timedelta(days=1)


def settlement_expected(payment: Payment, close: dt.time, timezone: str) -> dt.datetime | None:
    """When a posted card payment should settle: the batch close after it was captured.
    None for anything else (settled already, cash and cheques settle with the deposit)."""
    if payment.status is not PaymentStatus.POSTED or payment.tender != "card":
        return None
    captured = payment.posted_at or payment.authorized_at or payment.created_at
    return next_batch_close(captured, close, timezone)


def settlement_late(payment: Payment, close: dt.time, timezone: str, now: dt.datetime) -> bool:
    """Posted by card, and its batch has closed without settling it."""
    expected = settlement_expected(payment, close, timezone)
    return expected is not None and now >= expected
