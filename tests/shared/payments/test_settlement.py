"""When a posted card payment's funds are expected (the next batch close), and when late."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paydesk.worker import Worker
from shared.actors import SYSTEM
from shared.db import utcnow
from shared.gateway.protocol import SettlementBatch
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import (
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Correction,
    ExceptionCase,
    ExceptionKind,
    Payment,
    PaymentStatus,
    Tender,
)
from shared.payments.settlement import import_batch, next_batch_close, settle, settlement_expected
from shared.payments.status import describe
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.payments.test_corrections import paid_by_card
from tests.shared.payments.test_status import TZ, payment_in
from tests.shared.sandbox import token
from tests.support.apps import runtime_on_fresh_database

CLOSE = dt.time(23, 0)
UTC = dt.UTC


def test_the_next_close_is_the_local_wall_clock_time() -> None:
    # 11:00 in Toronto (summer time): the close is 23:00 EDT the same day, 03:00 UTC.
    morning = dt.datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
    assert next_batch_close(morning, CLOSE, TZ) == dt.datetime(2026, 3, 15, 3, 0, tzinfo=UTC)
    # At the close itself, the batch is closing: the next one is a day later.
    at_close = dt.datetime(2026, 3, 15, 3, 0, tzinfo=UTC)
    assert next_batch_close(at_close, CLOSE, TZ) == dt.datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
    # Across the change to summer time the close stays at 23:00 on the wall.
    winter = dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert next_batch_close(winter, CLOSE, TZ) == dt.datetime(2026, 3, 8, 4, 0, tzinfo=UTC)


def _posted_card(db: Session) -> Payment:
    payment = payment_in(db, PaymentStatus.POSTED)
    payment.posted_at = dt.datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
    db.flush()
    return payment


def test_a_posted_card_payment_says_when_its_funds_are_expected(db: Session) -> None:
    payment = _posted_card(db)
    before = dt.datetime(2026, 3, 14, 20, 0, tzinfo=UTC)
    report = describe(payment, "en", TZ, batch_close=CLOSE, now=before)
    expected = "March 14, 2026, 11:00\u202fp.m. (Eastern Daylight Time)"
    assert report.timeline[-1].when == f"Expected by {expected}"
    assert report.settlement_due == expected and not report.settlement_late
    assert any("pays these funds to the city at" in line for line in report.details)


def test_past_the_close_an_unsettled_payment_is_late(db: Session) -> None:
    payment = _posted_card(db)
    after = dt.datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    report = describe(payment, "fr", TZ, batch_close=CLOSE, now=after)
    assert report.settlement_late
    assert report.timeline[-1].when.startswith("En retard")
    assert any("aurait dû verser" in line for line in report.details)


def test_cash_and_settled_payments_expect_no_batch(db: Session) -> None:
    cash = payment_in(db, PaymentStatus.POSTED, Tender.CASH)
    settled = payment_in(db, PaymentStatus.SETTLED)
    for payment in (cash, settled):
        assert settlement_expected(payment, CLOSE, TZ) is None
        assert not describe(payment, "en", TZ, batch_close=CLOSE).settlement_due


def test_the_worker_closes_the_batch_at_the_configured_time(tmp_path: Path) -> None:
    """A card payment taken now settles when the worker passes PAYDESK_BATCH_CLOSE."""
    close = (utcnow() + dt.timedelta(hours=1)).astimezone(dt.UTC).time().replace(microsecond=0)
    with runtime_on_fresh_database("sqlite", tmp_path, timezone="UTC", batch_close=close) as rt:
        with rt.factory() as db:
            (bill,) = factories.bills(db, [2_500])
            request = PaymentRequest(
                items=(Item(bill.invoice_number),),
                tender=Tender.CARD,
                channel="portal",  # type: ignore[arg-type]
                idempotency_key=str(uuid.uuid4()),
                currency="CAD",
                card_token=token(rt.sandbox),  # type: ignore[arg-type]
            )
            payment = take_payment(db, rt.gateway, request, SYSTEM).payment
            db.commit()
            assert payment.status is PaymentStatus.POSTED
        worker = Worker(rt)
        first_close = worker.next_close
        assert first_close.time() == close
        worker.tick()  # before the close: nothing settles
        with rt.factory() as db:
            assert db.scalars(select(Payment.status)).all() == [PaymentStatus.POSTED]
        worker.next_close = utcnow()  # the clock reaches the close
        assert worker.tick()["settled"] == 1
        with rt.factory() as db:
            assert db.scalars(select(Payment.status)).all() == [PaymentStatus.SETTLED]


# -- chargebacks: the processor's report takes a sale back ---------------------------------


def _settle(db: Session, sandbox: SandboxGateway) -> SettlementBatch:
    batch = settle(db, sandbox, SYSTEM, until=utcnow())
    db.commit()
    return batch


def test_a_chargeback_in_the_report_reverses_the_payment_once(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, (tax, water) = paid_by_card(db, sandbox, [30_000, 12_000], email="jo@example.com")
    _settle(db, sandbox)
    assert payment.status is PaymentStatus.SETTLED
    assert payment.gateway_reference is not None
    sandbox.chargeback(reference=payment.gateway_reference)

    batch = _settle(db, sandbox)

    assert [(line.kind, line.our_key, line.amount) for line in batch.lines] == [
        ("chargeback", payment.idempotency_key, 42_000)
    ]
    assert batch.net == -42_000
    db.refresh(payment)
    assert payment.status is PaymentStatus.REVERSED
    for bill in (tax, water):
        db.refresh(bill)
        assert bill.amount_paid == 0  # they owe again
    request = db.scalars(select(ApprovalRequest)).one()
    assert (request.action, request.status, request.requested_by_id) == (
        ApprovalAction.REVERSAL,
        ApprovalStatus.EXECUTED,
        None,
    )
    assert request.reason_code == "chargeback"
    assert batch.batch_id in request.comment
    case = db.scalars(select(ExceptionCase)).one()
    assert (case.kind, case.payment_id) == (ExceptionKind.REVERSAL, payment.id)
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"approval:request:approved", "payment:reversal:recorded"} <= actions

    # The same report imported again changes nothing.
    import_batch(db, batch, SYSTEM)
    db.commit()
    assert db.scalar(select(func.count()).select_from(Correction)) == 1
    assert db.scalar(select(func.count()).select_from(ExceptionCase)) == 1


def test_a_chargeback_we_cannot_record_is_a_mismatch(db: Session, sandbox: SandboxGateway) -> None:
    refunded, _ = paid_by_card(db, sandbox, [5_000])
    _settle(db, sandbox)
    assert refunded.gateway_reference is not None
    sandbox.refund(reference=refunded.gateway_reference, amount=2_000, our_key="r-1")
    # The processor refunded 20.00 that Paydesk never recorded: what is left here (50.00)
    # is not what the bank took back (30.00).
    sandbox.chargeback(reference=refunded.gateway_reference)

    _settle(db, sandbox)

    db.refresh(refunded)
    assert refunded.status is PaymentStatus.SETTLED
    problems = {
        c.details["problem"]
        for c in db.scalars(select(ExceptionCase))
        if c.kind is ExceptionKind.SETTLEMENT_MISMATCH
    }
    assert "chargeback_not_recorded" in problems
    assert db.scalar(select(func.count()).select_from(Correction)) == 0
