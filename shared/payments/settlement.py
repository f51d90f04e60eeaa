"""End-of-day settlement: close the processor's batch and mark what it paid us as settled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
