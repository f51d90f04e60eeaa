"""Money approved beyond what a bill owed becomes a visible credit and an exception, never a
silent negative balance, and a balance refresh never erases it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import Actor, ActorType
from shared.audit import AuditAction
from shared.customers import balances
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import (
    Account,
    AccountCredit,
    Allocation,
    AuditEvent,
    CreditStatus,
    ExceptionCase,
    ExceptionKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Receipt,
    Tender,
)
from shared.payments.recovery import recover
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import token

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")
AGENT = Actor(ActorType.STAFF, "agent", staff_user_id=None)


def _paid_elsewhere_while_in_doubt(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway, due: int, paid: int
) -> tuple[Invoice, Payment]:
    """A card payment for the whole bill is in doubt; meanwhile `paid` of the bill is paid
    another way the hold did not see (the source system, a processor-side retry); then the
    processor approves the card payment."""
    (bill,) = factories.bills(db, [due])
    request = PaymentRequest(
        items=(Item(bill.invoice_number),),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        card_token=token(sandbox, Behaviour.TIMEOUT_APPROVE),
    )
    payment = take_payment(db, sandbox, request, CITIZEN).payment
    assert payment.status is PaymentStatus.UNKNOWN
    db.execute(
        update(Invoice).where(Invoice.id == bill.id).values(amount_paid=Invoice.amount_paid + paid)
    )
    db.execute(
        update(Account).where(Account.id == bill.account_id).values(balance=Account.balance - paid)
    )
    db.commit()
    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    db.expire_all()
    return bill, payment


def test_an_approved_overpayment_pays_the_bill_up_to_what_it_owed_and_keeps_the_rest(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    bill, payment = _paid_elsewhere_while_in_doubt(db, factory, sandbox, 32_300, 32_300)
    assert payment.status is PaymentStatus.POSTED
    db.refresh(bill)
    assert (bill.amount_paid, bill.status) == (32_300, InvoiceStatus.PAID)
    [credit] = db.scalars(select(AccountCredit))
    assert (credit.amount, credit.remaining, credit.status) == (32_300, 32_300, CreditStatus.OPEN)
    assert (credit.payment_id, credit.account_id) == (payment.id, bill.account_id)
    # What the payment paid, in allocations and credit, is the whole of it.
    allocated = db.scalar(
        select(func.sum(Allocation.amount)).where(Allocation.payment_id == payment.id)
    )
    assert allocated == 0 and allocated + credit.amount == payment.amount
    account = db.get(Account, bill.account_id)
    assert account is not None and account.balance == -32_300
    # Someone must look at it, at once.
    [case] = db.scalars(select(ExceptionCase))
    assert case.kind is ExceptionKind.OVERPAYMENT
    assert (case.payment_id, case.amount, case.customer_id) == (
        payment.id,
        32_300,
        payment.customer_id,
    )
    assert db.scalars(select(Receipt).where(Receipt.payment_id == payment.id)).one()


def test_a_partial_overpayment_credits_only_the_excess(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    bill, payment = _paid_elsewhere_while_in_doubt(db, factory, sandbox, 10_000, 2_500)
    [allocation] = db.scalars(select(Allocation).where(Allocation.payment_id == payment.id))
    [credit] = db.scalars(select(AccountCredit))
    assert (allocation.amount, credit.amount) == (7_500, 2_500)
    db.refresh(bill)
    assert bill.amount_paid == bill.amount_due == 10_000


def test_a_balance_refresh_keeps_the_credit_and_is_audited(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    bill, _payment = _paid_elsewhere_while_in_doubt(db, factory, sandbox, 32_300, 32_300)
    account = db.get(Account, bill.account_id)
    assert account is not None
    account.balance = 12_345  # stale, as a source-system sync could leave it
    db.commit()
    balances.refresh(db, [account], AGENT)
    db.commit()
    assert account.balance == -32_300
    assert balances.open_bills(db, [account.id]) == {}
    assert balances.open_credits(db, [account.id]) == {account.id: 32_300}
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.BALANCES_REFRESHED)
    ).one()
    assert event.details["changed"] == {
        account.account_number: {"before": 12_345, "after": -32_300}
    }
