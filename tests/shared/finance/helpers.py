"""Test helpers for the finance domain: staff, counter payments into drawers, card batches."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from shared.actors import SYSTEM, Actor, ActorType
from shared.finance import journal
from shared.gateway.protocol import SettlementBatch, SettlementLine
from shared.identifiers import transaction_id
from shared.models import (
    Allocation,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    Channel,
    Correction,
    CorrectionKind,
    CorrectionLine,
    Invoice,
    Payment,
    PaymentStatus,
    StaffUser,
    Tender,
)
from shared.payments.states import move
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.no_gateway import NoGateway

ACCOUNTS = journal.Accounts(
    cash="1010-CASH",
    card_clearing="1020-CARD",
    card_fees="6100-FEES",
    over_short="6150-OS",
    receivable="1200-AR",
    unapplied="2400-UNAPPLIED",
    currency="CAD",
    timezone="America/Toronto",
)


def staff(db: Session, name: str = "cashier") -> tuple[StaffUser, Actor]:
    user = StaffUser(username=f"{name}-{uuid.uuid4().hex[:6]}", display_name=name.title())
    db.add(user)
    db.flush()
    return user, Actor(ActorType.STAFF, user.username, staff_user_id=user.id)


def at_counter(db: Session, actor: Actor, amount: int, tender: Tender = Tender.CASH) -> Payment:
    """A bill of `amount` paid in full at the counter by `actor`, in cash or by cheque."""
    (bill,) = factories.bills(db, [amount])
    return pay(db, actor, bill, tender)


def pay(db: Session, actor: Actor, bill: Invoice, tender: Tender = Tender.CASH) -> Payment:
    request = PaymentRequest(
        items=(Item(bill.invoice_number),),
        tender=tender,
        channel=Channel.COUNTER,
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        cash_tendered=bill.amount_due if tender is Tender.CASH else None,
        cheque_number="000123" if tender is Tender.CHEQUE else None,
    )
    return take_payment(db, NoGateway(), request, actor).payment


def batch_of(payments: list[Payment], batch_id: str | None = None) -> SettlementBatch:
    closed = dt.datetime.now(dt.UTC)
    lines = tuple(
        SettlementLine(
            our_key=p.idempotency_key,
            reference=f"ref-{p.id}",
            kind="sale",
            amount=p.amount,
            currency="CAD",
            card_brand="visa",
            card_last4="4242",
            captured_at=closed,
        )
        for p in payments
    )
    return SettlementBatch(batch_id or f"B{uuid.uuid4().hex[:8]}", closed, lines, "")


def card_posted(db: Session, amount: int) -> Payment:
    """A card payment of `amount` posted on a bill of its own (the gateway's part skipped)."""
    (bill,) = factories.bills(db, [amount])
    payment = Payment(
        transaction_id=transaction_id(),
        idempotency_key=str(uuid.uuid4()),
        customer_id=bill.account.customer_id,
        channel=Channel.PORTAL,
        amount=amount,
        currency="CAD",
        tender=Tender.CARD,
        status=PaymentStatus.PENDING,
    )
    db.add(payment)
    db.flush()
    db.add(
        Allocation(
            payment_id=payment.id,
            invoice_id=bill.id,
            account_id=bill.account_id,
            fee_type_id=bill.fee_type_id,
            department_id=bill.account.department_id,
            gl_account=bill.fee_type.gl_account,
            amount=amount,
        )
    )
    move(db, payment, PaymentStatus.AUTHORIZED, SYSTEM)
    move(db, payment, PaymentStatus.POSTED, SYSTEM)
    db.commit()
    return payment


def correction_row(
    db: Session, payment: Payment, amount: int, kind: CorrectionKind, at: dt.datetime
) -> Correction:
    """A carried-out correction of `amount` off the payment's first bill, as the
    corrections service records one (its approval included), at `at`."""
    allocation = payment.allocations[0]
    requester, _actor = staff(db, "requester")
    approval = ApprovalRequest(
        action=ApprovalAction(kind.value),
        status=ApprovalStatus.EXECUTED,
        idempotency_key=str(uuid.uuid4()),
        payment_id=payment.id,
        amount=amount,
        details={},
        reason_code="duplicate",
        comment="test",
        requested_by_id=requester.id,
        requested_at=at,
        expires_at=at + dt.timedelta(days=3),
        result={},
    )
    db.add(approval)
    db.flush()
    correction = Correction(
        kind=kind,
        approval_id=approval.id,
        payment_id=payment.id,
        account_id=allocation.account_id,
        amount=amount,
        created_at=at,
    )
    db.add(correction)
    db.flush()
    db.add(
        CorrectionLine(
            correction_id=correction.id,
            invoice_id=allocation.invoice_id,
            account_id=allocation.account_id,
            gl_account=allocation.gl_account,
            amount=-amount,
        )
    )
    db.flush()
    return correction
