"""What a person must look at reaches the exceptions queue, once per subject, on its own."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import SYSTEM, Actor, ActorType
from shared.audit import AuditAction
from shared.exceptions import cases
from shared.gateway.protocol import SettlementBatch, SettlementLine
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.messaging.write_back import flag_failing
from shared.models import (
    AuditEvent,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    Invoice,
    OutboxMessage,
    Payment,
    PaymentStatus,
    StaffUser,
    Tender,
)
from shared.payments import settlement
from shared.payments.recovery import flag_long_in_doubt, recover
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import token

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")


def kinds(db: Session) -> list[tuple[ExceptionKind, str]]:
    return [
        (c.kind, c.subject) for c in db.scalars(select(ExceptionCase).order_by(ExceptionCase.id))
    ]


def card(bill: Invoice, card_token: str, amount: int | None = None) -> PaymentRequest:
    return PaymentRequest(
        items=(Item(bill.invoice_number, amount),),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        card_token=card_token,
    )


def test_opening_the_same_case_twice_keeps_one_and_audits_one(db: Session) -> None:
    first = cases.open_case(db, SYSTEM, ExceptionKind.LONG_UNKNOWN, "TX-A", amount=100)
    again = cases.open_case(db, SYSTEM, ExceptionKind.LONG_UNKNOWN, "TX-A", amount=999)
    db.commit()
    assert first.id == again.id and again.amount == 100
    opened = db.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.EXCEPTION_OPENED)
    ).all()
    assert len(opened) == 1


def test_a_case_is_assigned_then_resolved_with_an_outcome_once(db: Session) -> None:
    agent = StaffUser(username="agent.x", display_name="Agent X")
    db.add(agent)
    db.flush()
    actor = Actor(ActorType.STAFF, agent.username, staff_user_id=agent.id)
    case = cases.open_case(db, SYSTEM, ExceptionKind.LONG_UNKNOWN, "TX-B")
    cases.assign(db, case, agent, actor)
    cases.resolve(db, case, "confirmed_with_processor", "Processor says declined.", agent, actor)
    db.commit()
    assert case.status is ExceptionStatus.RESOLVED
    assert (case.assignee_id, case.resolved_by_id, case.outcome) == (
        agent.id,
        agent.id,
        "confirmed_with_processor",
    )
    with pytest.raises(cases.CaseError):
        cases.resolve(db, case, "no_action_needed", "again", agent, actor)


def test_two_payments_of_one_amount_to_one_account_are_a_possible_duplicate(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [20_000])
    bill.fee_type.allows_partial = True
    db.commit()
    first = take_payment(db, sandbox, card(bill, token(sandbox), 5_000), CITIZEN).payment
    declined = take_payment(
        db, sandbox, card(bill, token(sandbox, Behaviour.DECLINE), 5_000), CITIZEN
    ).payment
    assert kinds(db) == []  # one payment, and a declined attempt: nothing to look at
    second = take_payment(db, sandbox, card(bill, token(sandbox), 5_000), CITIZEN).payment
    assert declined.status is PaymentStatus.DECLINED
    assert kinds(db) == [
        (ExceptionKind.POSSIBLE_DUPLICATE, f"{first.transaction_id}/{second.transaction_id}")
    ]
    [case] = db.scalars(select(ExceptionCase))
    assert case.payment_id == second.id and case.account_id == bill.account_id
    # A different amount, or the same amount eleven minutes later, is not a duplicate.
    take_payment(db, sandbox, card(bill, token(sandbox), 4_999), CITIZEN)
    for earlier in (first, second):
        earlier.created_at -= dt.timedelta(minutes=11)
    db.commit()
    take_payment(db, sandbox, card(bill, token(sandbox), 5_000), CITIZEN)
    assert len(kinds(db)) == 1


def test_a_payment_in_doubt_too_long_is_queued_once(db: Session, sandbox: SandboxGateway) -> None:
    (bill,) = factories.bills(db, [7_700])
    payment = take_payment(
        db, sandbox, card(bill, token(sandbox, Behaviour.TIMEOUT_APPROVE)), CITIZEN
    ).payment
    assert flag_long_in_doubt(db, dt.timedelta(minutes=15)) == 0
    assert flag_long_in_doubt(db, dt.timedelta(0)) == 1
    assert flag_long_in_doubt(db, dt.timedelta(0)) == 1
    db.commit()
    assert kinds(db) == [(ExceptionKind.LONG_UNKNOWN, payment.transaction_id)]


def test_a_write_back_failing_past_the_attempts_is_queued(db: Session) -> None:
    (bill,) = factories.bills(db, [1_000])
    bill.account.source_system = "tax-system"
    db.commit()
    payment = factories.paid_in_cash(db, bill, CITIZEN).payment
    assert flag_failing(db, 5, SYSTEM) == 0
    db.execute(update(OutboxMessage).values(attempts=5, last_error="ConnectError: refused"))
    assert flag_failing(db, 5, SYSTEM) == 1
    db.commit()
    [case] = db.scalars(select(ExceptionCase))
    assert case.kind is ExceptionKind.WRITE_BACK_FAILING
    assert case.subject == f"{payment.transaction_id}:{bill.account.account_number}"
    assert case.details["last_error"] == "ConnectError: refused"


def _line(payment: Payment, amount: int | None = None, key: str | None = None) -> SettlementLine:
    return SettlementLine(
        our_key=key or payment.idempotency_key,
        reference="ref",
        kind="sale",
        amount=payment.amount if amount is None else amount,
        currency="CAD",
        card_brand="visa",
        card_last4="4242",
        captured_at=payment.created_at,
    )


def test_a_settlement_report_that_does_not_match_goes_to_the_queue(
    db: Session, sandbox: SandboxGateway
) -> None:
    good, differs, missing, doubtful = factories.bills(db, [1_000, 2_000, 3_000, 4_000])
    paid = {
        bill.id: take_payment(db, sandbox, card(bill, token(sandbox)), CITIZEN).payment
        for bill in (good, differs, missing)
    }
    unknown = take_payment(
        db, sandbox, card(doubtful, token(sandbox, Behaviour.TIMEOUT_APPROVE)), CITIZEN
    ).payment
    batch = SettlementBatch(
        batch_id="B-TEST-1",
        closed_at=dt.datetime.now(dt.UTC),
        lines=(
            _line(paid[good.id]),
            _line(paid[differs.id], amount=1_999),
            _line(unknown),
            _line(paid[good.id], key="a-key-we-never-made"),
        ),
        report_csv="",
    )
    moved = settlement.import_batch(db, batch, SYSTEM, until=dt.datetime.now(dt.UTC))
    db.commit()
    assert moved == 1
    db.refresh(paid[good.id])
    assert paid[good.id].status is PaymentStatus.SETTLED
    problems = {
        c.details["problem"]: c.payment_id
        for c in db.scalars(select(ExceptionCase))
        if c.kind is ExceptionKind.SETTLEMENT_MISMATCH
    }
    assert problems == {
        "amount_differs": paid[differs.id].id,
        "not_posted_here": unknown.id,
        "unknown_payment": None,
        "missing_from_report": paid[missing.id].id,
    }
    # Importing the same report again opens nothing new.
    settlement.import_batch(db, batch, SYSTEM, until=dt.datetime.now(dt.UTC))
    db.commit()
    assert len(kinds(db)) == 4


def test_a_payment_confirmed_after_its_batch_closed_is_settled_not_left_posted(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [8_800])
    payment = take_payment(
        db, sandbox, card(bill, token(sandbox, Behaviour.TIMEOUT_APPROVE)), CITIZEN
    ).payment
    # The processor's day closes while we still wait for its answer.
    settlement.settle(db, sandbox, SYSTEM, until=dt.datetime.now(dt.UTC))
    db.commit()
    assert [c.details["problem"] for c in db.scalars(select(ExceptionCase))] == ["not_posted_here"]
    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    db.refresh(payment)
    assert payment.status is PaymentStatus.SETTLED
    assert payment.settlement_batch is not None
