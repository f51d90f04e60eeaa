"""End-of-day settlement: close the processor's batch and mark what it paid us as settled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.gateway.protocol import PaymentGateway, SettlementBatch
from shared.models import Payment, PaymentStatus
from shared.payments.states import move


def import_batch(session: Session, batch: SettlementBatch, actor: Actor) -> int:
    """Mark the batch's sales settled; returns how many payments moved."""
    keys = [line.our_key for line in batch.lines if line.kind == "sale"]
    moved = 0
    for payment in session.scalars(select(Payment).where(Payment.idempotency_key.in_(keys))):
        if payment.status is PaymentStatus.POSTED:
            payment.settlement_batch = batch.batch_id
            move(
                session, payment, PaymentStatus.SETTLED, actor, f"Settlement batch {batch.batch_id}"
            )
            moved += 1
    audit.record(
        session,
        actor,
        audit.AuditAction.SETTLEMENT_IMPORTED,
        "settlement_batch",
        batch.batch_id,
        {"lines": len(batch.lines), "net": batch.net, "settled_payments": moved},
    )
    return moved


def settle(
    session: Session,
    gateway: PaymentGateway,
    actor: Actor,
    *,
    until: dt.datetime,
    report_dir: Path | None = None,
) -> SettlementBatch:
    """Ask the processor to close the day, keep its report file, and apply it."""
    batch = gateway.settle(until=until)
    if report_dir is not None and batch.lines:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / f"settlement-{batch.batch_id}.csv").write_text(batch.report_csv)
    import_batch(session, batch, actor)
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
