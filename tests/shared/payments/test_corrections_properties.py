"""Property: whatever mix of payments, partial refunds, voids, reversals and adjustments
happens to an account, its books stay consistent, and the audit chain verifies."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.approvals import requests
from shared.approvals.requests import ApprovalError
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.gateway.sandbox.store import Payment as ProcessorPayment
from shared.models import (
    Account,
    AccountCredit,
    Allocation,
    ApprovalRequest,
    Correction,
    CorrectionKind,
    CorrectionLine,
    CreditStatus,
    Invoice,
    Payment,
    PaymentStatus,
    Receipt,
    StaffUser,
    Tender,
)
from shared.payments import corrections
from shared.payments.taking import Item, PaymentRefused, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import token

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Pay:
    bill: int  # which of the account's bills
    amount: int
    card: bool


@dataclass(frozen=True)
class Refund:
    payment: int  # which payment so far (modulo how many)
    amount: int


@dataclass(frozen=True)
class Void:
    payment: int


@dataclass(frozen=True)
class Reverse:
    payment: int


@dataclass(frozen=True)
class Adjust:
    bill: int
    amount: int
    debit: bool


Step = Pay | Refund | Void | Reverse | Adjust
steps = st.lists(
    st.one_of(
        st.builds(Pay, st.integers(0, 1), st.integers(1, 6_000), st.booleans()),
        st.builds(Refund, st.integers(0, 5), st.integers(1, 6_000)),
        st.builds(Void, st.integers(0, 5)),
        st.builds(Reverse, st.integers(0, 5)),
        st.builds(Adjust, st.integers(0, 1), st.integers(1, 3_000), st.booleans()),
    ),
    min_size=1,
    max_size=8,
)


def _people(db: Session) -> tuple[tuple[StaffUser, Actor], tuple[StaffUser, Actor]]:
    made = []
    for role in ("agent", "supervisor"):
        user = StaffUser(username=f"{role}-{uuid.uuid4().hex[:8]}", display_name=role)
        db.add(user)
        db.flush()
        made.append((user, Actor(ActorType.STAFF, user.username, staff_user_id=user.id)))
    return made[0], made[1]


Person = tuple[StaffUser, Actor]


def _approve(db: Session, sandbox: SandboxGateway, request: ApprovalRequest, who: Person) -> None:
    db.commit()
    locked = requests.locked(db, request.id)
    assert locked is not None
    requests.decide(
        db, locked, who[0], who[1], approve=True, comment="", may_decide=True, second_factor=True
    )
    db.commit()
    corrections.carry_out(db, sandbox, locked, who[1])


def _run(
    db: Session,
    sandbox: SandboxGateway,
    step: Step,
    numbers: list[str],
    paid: list[int],
    people: tuple[Person, Person],
) -> None:
    """One step, on objects read again (a refused step rolls the session back)."""
    agent, supervisor = people
    bills = [db.scalars(select(Invoice).where(Invoice.invoice_number == n)).one() for n in numbers]
    payments = [p for p in (db.get(Payment, i) for i in paid) if p is not None]
    key = str(uuid.uuid4())
    common = {"requester": agent[0], "actor": agent[1], "key": key, "expires_after": WEEK}
    try:
        match step:
            case Pay(bill=i, amount=amount, card=card):
                request = PaymentRequest(
                    items=(Item(bills[i].invoice_number, amount),),
                    tender=Tender.CARD if card else Tender.CASH,
                    channel="counter",  # type: ignore[arg-type]
                    idempotency_key=key,
                    currency="CAD",
                    card_token=token(sandbox) if card else None,
                    cash_tendered=None if card else amount,
                )
                paid.append(take_payment(db, sandbox, request, agent[1]).payment.id)
            case Refund(payment=n, amount=amount) if payments:
                asked = corrections.ask_refund(
                    db,
                    payments[n % len(payments)],
                    amount,
                    reason_code="error",
                    comment="x",
                    **common,
                )
                _approve(db, sandbox, asked, supervisor)
            case Void(payment=n) if payments:
                asked = corrections.ask_void(
                    db,
                    sandbox,
                    payments[n % len(payments)],
                    reason_code="error",
                    comment="x",
                    **common,
                )
                _approve(db, sandbox, asked, supervisor)
            case Reverse(payment=n) if payments:
                asked = corrections.ask_reversal(
                    db,
                    payments[n % len(payments)],
                    reason_code="chargeback",
                    comment="x",
                    **common,
                )
                _approve(db, sandbox, asked, supervisor)
            case Adjust(bill=i, amount=amount, debit=debit):
                asked = corrections.ask_adjustment(
                    db,
                    bills[i].account,
                    amount,
                    direction="debit" if debit else "credit",
                    invoice=bills[i],
                    fee_type=None,
                    currency="CAD",
                    locale="en",
                    reason_code="correct_error",
                    comment="x",
                    **common,
                )
                _approve(db, sandbox, asked, supervisor)
    except (PaymentRefused, ApprovalError):
        db.rollback()  # refused with a clear reason: nothing may have changed
    db.expire_all()


def _check(db: Session, sandbox: SandboxGateway, account_id: int) -> None:
    db.expire_all()
    account = db.get(Account, account_id)
    assert account is not None
    invoices = list(db.scalars(select(Invoice).where(Invoice.account_id == account.id)))
    for invoice in invoices:
        assert 0 <= invoice.amount_paid <= invoice.amount_due
        # What the bill was paid is what payments put on it, less what corrections took off.
        put = db.scalar(
            select(func.coalesce(func.sum(Allocation.amount), 0))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Allocation.invoice_id == invoice.id, Payment.posted_at.is_not(None))
        )
        taken = db.scalar(
            select(func.coalesce(func.sum(CorrectionLine.amount), 0))
            .join(Correction, Correction.id == CorrectionLine.correction_id)
            .where(
                CorrectionLine.invoice_id == invoice.id,
                CorrectionLine.credit_id.is_(None),
                Correction.kind != CorrectionKind.ADJUSTMENT,
            )
        )
        assert invoice.amount_paid == put + taken
    credits = db.scalar(
        select(func.coalesce(func.sum(AccountCredit.remaining), 0)).where(
            AccountCredit.account_id == account.id, AccountCredit.status == CreditStatus.OPEN
        )
    )
    assert account.balance == sum(i.amount_due - i.amount_paid for i in invoices) - credits
    for payment in db.scalars(select(Payment).where(Payment.customer_id == account.customer_id)):
        assert 0 <= payment.refunded_amount <= payment.amount
        if payment.posted_at is not None:
            allocated = db.scalar(
                select(func.sum(Allocation.amount)).where(Allocation.payment_id == payment.id)
            )
            made = db.scalar(
                select(func.coalesce(func.sum(AccountCredit.amount), 0)).where(
                    AccountCredit.payment_id == payment.id
                )
            )
            assert allocated + made == payment.amount  # allocations and credit: the whole
            assert (
                db.scalar(
                    select(func.count())
                    .select_from(Receipt)
                    .where(Receipt.payment_id == payment.id)
                )
                == 1
            )
        if payment.tender is Tender.CARD and payment.status in (
            PaymentStatus.REFUNDED,
            PaymentStatus.PARTIALLY_REFUNDED,
        ):
            with sandbox.store.transaction() as processor:
                refunded = processor.scalars(
                    select(ProcessorPayment.refunded_amount).where(
                        ProcessorPayment.reference == payment.gateway_reference
                    )
                ).one()
            assert refunded == payment.refunded_amount


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
def test_any_sequence_of_corrections_keeps_the_books_consistent(
    db: Session, sandbox: SandboxGateway, plan: list[Step]
) -> None:
    bills = factories.bills(db, [8_000])
    account = bills[0].account
    bills.append(factories.invoice(db, account, bills[0].fee_type, 5_000))
    bills[0].fee_type.allows_partial = True
    numbers, account_id = [b.invoice_number for b in bills], account.id
    people = _people(db)
    db.commit()
    paid: list[int] = []
    for step in plan:
        _run(db, sandbox, step, numbers, paid, people)
        _check(db, sandbox, account_id)
    assert audit.verify(db).ok  # last: it lets go of the objects it read
