"""Refunds, voids, reversals, adjustments and overrides: asked by one person, approved by
another, carried out once, against the real sandbox processor, on both databases."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import Actor, ActorType
from shared.approvals import requests
from shared.approvals.requests import ApprovalError
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.gateway.sandbox.store import Payment as ProcessorPayment
from shared.models import (
    Account,
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Correction,
    ExceptionCase,
    ExceptionKind,
    FeeType,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PaymentStatus,
    StaffUser,
    Tender,
)
from shared.payments import corrections
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.conftest import Database
from tests.shared.sandbox import token

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")
WEEK = dt.timedelta(days=7)


def staff(db: Session, name: str) -> tuple[StaffUser, Actor]:
    user = StaffUser(username=f"{name}-{uuid.uuid4().hex[:6]}", display_name=name.title())
    db.add(user)
    db.flush()
    return user, Actor(ActorType.STAFF, user.username, staff_user_id=user.id)


def paid_by_card(
    db: Session, sandbox: SandboxGateway, amounts: list[int], email: str | None = None
) -> tuple[Payment, list[Invoice]]:
    bills = factories.bills(db, amounts)
    request = PaymentRequest(
        items=tuple(Item(b.invoice_number) for b in bills),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        card_token=token(sandbox),
        payer_email=email,
    )
    payment = take_payment(db, sandbox, request, CITIZEN).payment
    assert payment.status is PaymentStatus.POSTED
    return payment, bills


def approve(
    db: Session, sandbox: SandboxGateway, request: ApprovalRequest, name: str = "supervisor"
) -> Correction | None:
    supervisor, actor = staff(db, name)
    locked = requests.locked(db, request.id)
    assert locked is not None
    sign_off(db, locked, supervisor, actor)
    db.commit()
    return corrections.carry_out(db, sandbox, locked, actor)


def sign_off(db: Session, request: ApprovalRequest, supervisor: StaffUser, actor: Actor) -> None:
    """A supervisor who may, signed in with a second factor, approves."""
    requests.decide(
        db,
        request,
        supervisor,
        actor,
        approve=True,
        comment="",
        may_decide=True,
        second_factor=True,
    )


def processor_refunded(sandbox: SandboxGateway, reference: str) -> int:
    with sandbox.store.transaction() as db:
        found = db.scalars(select(ProcessorPayment).where(ProcessorPayment.reference == reference))
        return found.one().refunded_amount


def test_a_partial_refund_then_the_rest_never_more_than_was_paid(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, (tax, water) = paid_by_card(db, sandbox, [30_000, 10_000], email="jo@example.com")
    agent, agent_actor = staff(db, "agent")
    first = corrections.ask_refund(
        db,
        payment,
        10_000,
        lines={water.id: 10_000},
        reason_code="service_not_provided",
        comment="Water was never connected.",
        requester=agent,
        actor=agent_actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    # Asked for already: only 300.00 more may be asked for, and the message says so.
    with pytest.raises(ApprovalError) as too_much:
        corrections.ask_refund(
            db,
            payment,
            30_001,
            reason_code="error",
            comment="x",
            requester=agent,
            actor=agent_actor,
            key=str(uuid.uuid4()),
            expires_after=WEEK,
        )
    assert too_much.value.code == "exceeds"
    assert "At most $300.00 can still be refunded" in too_much.value.message
    correction = approve(db, sandbox, first)
    assert correction is not None
    db.refresh(payment)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.PARTIALLY_REFUNDED, 10_000)
    db.refresh(water)
    db.refresh(tax)
    assert (water.owing, water.status) == (10_000, InvoiceStatus.OPEN)  # the bill owes it again
    assert tax.owing == 0
    assert processor_refunded(sandbox, payment.gateway_reference or "") == 10_000
    # The payer is told: the receipt again, showing the refund.
    [notice] = db.scalars(
        select(OutboxMessage).where(OutboxMessage.payload["correction_id"].as_integer() > 0)
    )
    assert notice.payload["to"] == "jo@example.com"
    rest = corrections.ask_refund(
        db,
        payment,
        30_000,
        reason_code="error",
        comment="The permit was withdrawn.",
        requester=agent,
        actor=agent_actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    assert approve(db, sandbox, rest) is not None
    db.refresh(payment)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, 40_000)
    assert corrections.refundable(db, payment) == 0


def test_a_refund_request_carried_out_twice_refunds_once(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, _ = paid_by_card(db, sandbox, [5_000])
    agent, actor = staff(db, "agent")
    request = corrections.ask_refund(
        db,
        payment,
        5_000,
        reason_code="duplicate",
        comment="Paid twice.",
        requester=agent,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    assert approve(db, sandbox, request) is not None
    assert corrections.carry_out(db, sandbox, request, actor) is None  # executed already
    assert db.scalar(select(func.count()).select_from(Correction)) == 1
    assert processor_refunded(sandbox, payment.gateway_reference or "") == 5_000


def test_nobody_approves_their_own_request_or_without_a_second_factor(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, _ = paid_by_card(db, sandbox, [5_000])
    supervisor, actor = staff(db, "supervisor")
    request = corrections.ask_void(
        db,
        sandbox,
        payment,
        reason_code="duplicate",
        comment="Paid twice.",
        requester=supervisor,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()

    def decide(user: StaffUser, *, may: bool = True, second_factor: bool = True) -> str:
        locked = requests.locked(db, request.id)
        assert locked is not None
        try:
            requests.decide(
                db,
                locked,
                user,
                actor,
                approve=True,
                comment="",
                may_decide=may,
                second_factor=second_factor,
            )
        except ApprovalError as refused:
            db.rollback()
            return refused.code
        return "approved"

    assert decide(supervisor) == "own_request"  # whatever their roles
    other, _ = staff(db, "other")
    assert decide(other, may=False) == "not_allowed"
    assert decide(other, second_factor=False) == "second_factor"
    db.refresh(request)
    assert request.status is ApprovalStatus.PENDING


def test_an_expired_request_cannot_be_approved(db: Session, sandbox: SandboxGateway) -> None:
    payment, _ = paid_by_card(db, sandbox, [5_000])
    agent, actor = staff(db, "agent")
    request = corrections.ask_void(
        db,
        sandbox,
        payment,
        reason_code="error",
        comment="Wrong bill.",
        requester=agent,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=dt.timedelta(seconds=-1),
    )
    db.commit()
    supervisor, _ = staff(db, "supervisor")
    locked = requests.locked(db, request.id)
    assert locked is not None
    with pytest.raises(ApprovalError) as refused:
        requests.decide(
            db,
            locked,
            supervisor,
            actor,
            approve=True,
            comment="",
            may_decide=True,
            second_factor=True,
        )
    assert refused.value.code == "expired"
    db.commit()
    assert request.status is ApprovalStatus.EXPIRED


def test_two_supervisors_approving_at_once_refund_once(
    fresh_database: Database, sandbox: SandboxGateway
) -> None:
    factory = fresh_database.sessionmaker()
    with factory() as db:
        payment, _ = paid_by_card(db, sandbox, [8_000])
        agent, actor = staff(db, "agent")
        request = corrections.ask_refund(
            db,
            payment,
            8_000,
            reason_code="duplicate",
            comment="Paid twice.",
            requester=agent,
            actor=actor,
            key=str(uuid.uuid4()),
            expires_after=WEEK,
        )
        deciders = [staff(db, f"supervisor{n}") for n in range(4)]
        db.commit()
        request_id, reference = request.id, payment.gateway_reference or ""

    def press(decider: tuple[StaffUser, Actor]) -> str:
        with factory() as session:
            locked = requests.locked(session, request_id)
            assert locked is not None
            try:
                requests.decide(
                    session,
                    locked,
                    decider[0],
                    decider[1],
                    approve=True,
                    comment="",
                    may_decide=True,
                    second_factor=True,
                )
            except ApprovalError as refused:
                session.rollback()
                return refused.code
            session.commit()
            done = corrections.carry_out(session, sandbox, locked, decider[1])
            return "carried out" if done else "not carried out"

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(press, deciders))
    assert answers.count("carried out") == 1
    assert set(answers) - {"carried out"} == {"decided"}
    assert processor_refunded(sandbox, reference) == 8_000
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Correction)) == 1


def test_a_void_after_settlement_is_refused_suggesting_a_refund(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, _ = paid_by_card(db, sandbox, [5_000])
    payment.status, payment.settlement_batch = PaymentStatus.SETTLED, "B-1"
    db.commit()
    agent, actor = staff(db, "agent")
    with pytest.raises(ApprovalError) as refused:
        corrections.ask_void(
            db,
            sandbox,
            payment,
            reason_code="error",
            comment="x",
            requester=agent,
            actor=actor,
            key=str(uuid.uuid4()),
            expires_after=WEEK,
        )
    assert refused.value.code == "settled"
    assert "Ask for a refund instead." in refused.value.message


def test_a_void_reopens_the_bills_and_cancels_the_credit(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, (bill,) = paid_by_card(db, sandbox, [12_000])
    agent, actor = staff(db, "agent")
    request = corrections.ask_void(
        db,
        sandbox,
        payment,
        reason_code="wrong_bill",
        comment="Paid the neighbour's bill.",
        requester=agent,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    assert approve(db, sandbox, request) is not None
    db.refresh(payment)
    db.refresh(bill)
    assert payment.status is PaymentStatus.VOIDED
    assert (bill.owing, bill.status) == (12_000, InvoiceStatus.OPEN)
    account = db.get(Account, bill.account_id)
    assert account is not None and account.balance == 12_000
    with sandbox.store.transaction() as processor:
        state = processor.scalars(
            select(ProcessorPayment.state).where(
                ProcessorPayment.reference == payment.gateway_reference
            )
        ).one()
    assert state == "voided"


def test_a_cashier_voids_their_own_counter_payment_at_once_within_minutes(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [4_000])
    cashier, actor = staff(db, "cashier")
    payment = take_payment(
        db,
        sandbox,
        PaymentRequest(
            items=(Item(bill.invoice_number),),
            tender=Tender.CASH,
            channel="counter",  # type: ignore[arg-type]
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=4_000,
        ),
        actor,
    ).payment
    request = corrections.ask_void(
        db,
        sandbox,
        payment,
        reason_code="wrong_amount",
        comment="Keyed the wrong bill.",
        requester=cashier,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
        self_void_within=dt.timedelta(minutes=10),
    )
    db.refresh(request)
    db.refresh(payment)
    assert request.status is ApprovalStatus.EXECUTED
    assert payment.status is PaymentStatus.VOIDED
    assert "PAYDESK_SELF_VOID_MINUTES" in (request.decision_comment or "")


def test_a_reversal_reopens_the_bills_and_flags_the_account(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, (bill,) = paid_by_card(db, sandbox, [9_900])
    finance, actor = staff(db, "finance")
    request = corrections.ask_reversal(
        db,
        payment,
        reason_code="chargeback",
        comment="Chargeback CB-771 from the card network.",
        requester=finance,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    assert approve(db, sandbox, request) is not None
    db.refresh(payment)
    db.refresh(bill)
    assert payment.status is PaymentStatus.REVERSED
    assert bill.owing == 9_900
    [case] = db.scalars(select(ExceptionCase))
    assert (case.kind, case.customer_id) == (ExceptionKind.REVERSAL, payment.customer_id)


def test_adjustments_credit_a_bill_or_debit_the_account_with_gl_coding(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [10_000])
    account = bill.account
    agent, actor = staff(db, "agent")

    def adjust(direction: str, amount: int, invoice: Invoice | None) -> Correction | None:
        fee_type = db.get(FeeType, bill.fee_type_id)
        request = corrections.ask_adjustment(
            db,
            account,
            amount,
            direction=direction,
            invoice=invoice,
            fee_type=fee_type,
            currency="CAD",
            locale="en",
            reason_code="waive_fee",
            comment="Late fee waived.",
            requester=agent,
            actor=actor,
            key=str(uuid.uuid4()),
            expires_after=WEEK,
        )
        db.commit()
        return approve(db, sandbox, request)

    with pytest.raises(ApprovalError) as refused:
        adjust("credit", 10_001, bill)
    assert "owes $100.00" in refused.value.message
    waived = adjust("credit", 2_500, bill)
    assert waived is not None and [line.amount for line in waived.lines] == [-2_500]
    db.refresh(bill)
    assert bill.owing == 7_500
    debited = adjust("debit", 1_000, None)
    assert debited is not None
    assert [line.gl_account for line in debited.lines] == [bill.fee_type.gl_account]
    db.refresh(account)
    assert account.balance == 10_000 - 2_500 + 1_000
    new_bill = db.scalars(
        select(Invoice).where(Invoice.account_id == account.id, Invoice.id != bill.id)
    ).one()
    assert new_bill.owing == 1_000


def test_every_step_is_audited(db: Session, sandbox: SandboxGateway) -> None:
    payment, _ = paid_by_card(db, sandbox, [5_000])
    agent, actor = staff(db, "agent")
    request = corrections.ask_refund(
        db,
        payment,
        5_000,
        reason_code="duplicate",
        comment="Paid twice.",
        requester=agent,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    approve(db, sandbox, request)
    actions = list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("approval:%") | AuditEvent.action.like("payment:refund%"))
            .order_by(AuditEvent.seq)
        )
    )
    assert actions == [
        "approval:request:created",
        "approval:request:approved",
        "payment:refund:executed",
        "approval:request:executed",
    ]


def test_the_same_form_twice_asks_once_and_another_request_with_it_is_refused(
    db: Session, sandbox: SandboxGateway
) -> None:
    payment, _ = paid_by_card(db, sandbox, [5_000])
    agent, actor = staff(db, "agent")
    key = str(uuid.uuid4())

    def ask(amount: int) -> ApprovalRequest:
        return corrections.ask_refund(
            db,
            payment,
            amount,
            reason_code="duplicate",
            comment="Paid twice.",
            requester=agent,
            actor=actor,
            key=key,
            expires_after=WEEK,
        )

    first = ask(1_000)
    db.commit()
    assert ask(1_000).id == first.id
    with pytest.raises(ApprovalError) as refused:
        ask(2_000)
    assert refused.value.code == "key_reused"


def test_retry_carries_out_what_the_processor_did_not_answer(
    factory: sessionmaker[Session], db: Session, sandbox: SandboxGateway
) -> None:
    payment, _ = paid_by_card(db, sandbox, [6_000])
    agent, actor = staff(db, "agent")
    request = corrections.ask_refund(
        db,
        payment,
        6_000,
        reason_code="duplicate",
        comment="Paid twice.",
        requester=agent,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    supervisor, sup_actor = staff(db, "supervisor")
    requests.decide(
        db,
        request,
        supervisor,
        sup_actor,
        approve=True,
        comment="",
        may_decide=True,
        second_factor=True,
    )
    db.commit()
    # Approved, then the process stopped before carrying it out: the worker does it.
    assert corrections.retry_due(factory, sandbox, sup_actor, dt.timedelta(0)) == 1
    db.refresh(request)
    assert request.status is ApprovalStatus.EXECUTED
    assert corrections.retry_due(factory, sandbox, sup_actor, dt.timedelta(0)) == 0


def test_the_source_system_of_a_reopened_bill_is_told(db: Session, sandbox: SandboxGateway) -> None:
    payment, (bill,) = paid_by_card(db, sandbox, [7_000])
    bill.account.source_system = "utility-billing"
    db.commit()
    agent, actor = staff(db, "agent")
    request = corrections.ask_refund(
        db,
        payment,
        3_000,
        reason_code="error",
        comment="Overbilled.",
        requester=agent,
        actor=actor,
        key=str(uuid.uuid4()),
        expires_after=WEEK,
    )
    db.commit()
    correction = approve(db, sandbox, request)
    assert correction is not None
    [news] = db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "write_back",
            OutboxMessage.payload["correction_id"].as_integer() == correction.id,
        )
    ).all()
    body = news.payload["body"]
    assert body["event"] == "payment.refunded"
    assert body["id"] == f"{payment.transaction_id}:{bill.account.account_number}:C{correction.id}"
    assert body["lines"] == [
        {
            "invoice_number": bill.invoice_number,
            "fee_type": bill.fee_type.code,
            "amount": -3_000,
            "owing_after": 3_000,
        }
    ]
