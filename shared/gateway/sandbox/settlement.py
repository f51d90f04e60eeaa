"""End-of-day settlement: close a batch of captured sales, refunds and chargebacks, and
its report.

A batch takes everything captured (or refunded) up to `until` that no earlier
batch took. Rows are claimed with `UPDATE ... WHERE settlement_batch IS NULL`,
so two batches closing at once on PostgreSQL never take the same row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.gateway.protocol import SettlementBatch, SettlementLine, TransactionState
from shared.gateway.sandbox.store import Operation, OperationKind, Payment, SettlementBatchRow

REPORT_COLUMNS = (
    "batch_id",
    "our_key",
    "reference",
    "kind",
    "amount_minor",
    "currency",
    "card_brand",
    "card_last4",
    "captured_at",
)

# A refunded sale was still captured: it settles, keeping its refund state.
_REFUNDED_STATES = (TransactionState.PARTIALLY_REFUNDED, TransactionState.REFUNDED)


def close_batch(db: Session, *, until: dt.datetime, closed_at: dt.datetime) -> SettlementBatch:
    """Open the next batch of `until`'s day and claim every unsettled line up to `until`.

    An empty batch is still a batch (a processor reports a zero day too), with its
    own number, so a later batch the same day never reuses its id."""
    if until.tzinfo is None:
        raise ValueError("settle until a timezone-aware time")
    batch_id = _next_batch_id(db, until.astimezone(dt.UTC).date())
    db.add(SettlementBatchRow(id=batch_id, until=until, closed_at=closed_at))
    db.flush()

    unsettled_sales = (
        update(Payment)
        .where(Payment.settlement_batch.is_(None), Payment.captured_at <= until)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        unsettled_sales.where(Payment.state == TransactionState.CAPTURED).values(
            settlement_batch=batch_id, state=TransactionState.SETTLED
        )
    )
    db.execute(
        unsettled_sales.where(Payment.state.in_(_REFUNDED_STATES)).values(settlement_batch=batch_id)
    )
    db.execute(
        update(Operation)
        .where(
            Operation.settlement_batch.is_(None),
            Operation.kind.in_((OperationKind.REFUND, OperationKind.CHARGEBACK)),
            Operation.created_at <= until,
        )
        .values(settlement_batch=batch_id)
        .execution_options(synchronize_session=False)
    )
    lines = sorted(_lines(db, batch_id), key=lambda ln: (ln.captured_at, ln.kind, ln.our_key))
    return SettlementBatch(
        batch_id=batch_id,
        closed_at=closed_at,
        lines=tuple(lines),
        report_csv=report_csv(batch_id, lines),
    )


def _next_batch_id(db: Session, day: dt.date) -> str:
    prefix = f"B-{day:%Y%m%d}-"
    taken = db.scalars(
        select(SettlementBatchRow.id).where(SettlementBatchRow.id.startswith(prefix))
    ).all()
    number = max((int(batch_id.removeprefix(prefix)) for batch_id in taken), default=0) + 1
    return f"{prefix}{number:03d}"


def _lines(db: Session, batch_id: str) -> list[SettlementLine]:
    lines = []
    for payment in db.scalars(select(Payment).where(Payment.settlement_batch == batch_id)):
        assert payment.captured_at is not None
        assert payment.captured_amount is not None
        lines.append(
            SettlementLine(
                our_key=payment.our_key,
                reference=payment.reference,
                kind="sale",
                amount=payment.captured_amount,
                currency=payment.currency,
                card_brand=payment.token.brand,
                card_last4=payment.token.last4,
                captured_at=payment.captured_at,
            )
        )
    for operation in db.scalars(select(Operation).where(Operation.settlement_batch == batch_id)):
        assert operation.amount is not None
        sale = operation.payment
        chargeback = operation.kind is OperationKind.CHARGEBACK
        lines.append(
            SettlementLine(
                # A refund under its own key; a chargeback, which we never asked for, under
                # the sale's key, so it is matched to the payment it takes back.
                our_key=sale.our_key if chargeback else operation.our_key,
                # The sale's reference, so reconciliation ties the line to its payment.
                reference=sale.reference,
                kind=operation.kind.value,
                amount=operation.amount,
                currency=sale.currency,
                card_brand=sale.token.brand,
                card_last4=sale.token.last4,
                captured_at=operation.created_at,
            )
        )
    return lines


def report_csv(batch_id: str, lines: list[SettlementLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for line in lines:
        writer.writerow(
            (
                batch_id,
                line.our_key,
                line.reference,
                line.kind,
                line.amount,
                line.currency,
                line.card_brand,
                line.card_last4,
                line.captured_at.isoformat(),
            )
        )
    return out.getvalue()


def write_report(batch: SettlementBatch, directory: Path) -> Path:
    """Write `settlement-<batch>.csv` into `directory`; a reader never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"settlement-{batch.batch_id}.csv"
    fd, partial = tempfile.mkstemp(dir=directory, prefix=".settlement-", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(batch.report_csv)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path
