from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import Actor, ActorType
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import Invoice, Payment, PaymentStatus, PaymentStatusChange, Tender
from shared.payments.recovery import recover
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import authorizations, token

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")


def card_request(
    invoices: list[Invoice], card_token: str, key: str | None = None
) -> PaymentRequest:
    return PaymentRequest(
        items=tuple(Item(i.invoice_number) for i in invoices),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=key or str(uuid.uuid4()),
        currency="CAD",
        card_token=card_token,
    )


def history(db: Session, payment: Payment) -> list[PaymentStatus]:
    return list(
        db.scalars(
            select(PaymentStatusChange.to_status)
            .where(PaymentStatusChange.payment_id == payment.id)
            .order_by(PaymentStatusChange.id)
        )
    )


def test_approved_card_is_posted_with_only_brand_and_last4_kept(
    db: Session, sandbox: SandboxGateway
) -> None:
    tax, water = factories.bills(db, [120_000, 9_000])
    outcome = take_payment(db, sandbox, card_request([tax, water], token(sandbox)), CITIZEN)
    p = outcome.payment
    assert p.status is PaymentStatus.POSTED
    assert (p.card_brand, p.card_last4, p.card_exp_year) == ("visa", "4242", 2035)
    assert p.gateway == "sandbox" and p.gateway_reference
    assert outcome.receipt is not None
    assert history(db, p) == [PaymentStatus.PENDING, PaymentStatus.AUTHORIZED, PaymentStatus.POSTED]
    assert p.authorized_at is not None and p.posted_at is not None


def test_declined_card_leaves_the_bill_owing_and_says_why(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [5_000])
    outcome = take_payment(
        db, sandbox, card_request([bill], token(sandbox, Behaviour.INSUFFICIENT)), CITIZEN
    )
    assert outcome.payment.status is PaymentStatus.DECLINED
    assert outcome.payment.decline_code == "insufficient_funds"
    assert outcome.payment.status_reason
    assert outcome.receipt is None
    db.refresh(bill)
    assert bill.owing == 5_000


def test_a_new_card_after_a_decline_pays_the_bill(db: Session, sandbox: SandboxGateway) -> None:
    (bill,) = factories.bills(db, [5_000])
    take_payment(db, sandbox, card_request([bill], token(sandbox, Behaviour.DECLINE)), CITIZEN)
    second = take_payment(db, sandbox, card_request([bill], token(sandbox)), CITIZEN)
    assert second.payment.status is PaymentStatus.POSTED
    db.refresh(bill)
    assert bill.owing == 0


def test_timeout_then_approved_is_unknown_until_recovery_posts_it(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [7_700])
    request = card_request([bill], token(sandbox, Behaviour.TIMEOUT_APPROVE))
    outcome = take_payment(db, sandbox, request, CITIZEN)
    assert outcome.payment.status is PaymentStatus.UNKNOWN
    assert outcome.receipt is None
    # The citizen retries: same key, same request -> the same payment, nothing charged again.
    retry = take_payment(db, sandbox, request, CITIZEN)
    assert retry.replayed and retry.payment.id == outcome.payment.id
    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    db.refresh(outcome.payment)
    assert outcome.payment.status is PaymentStatus.POSTED
    assert authorizations(sandbox, request.idempotency_key) == 1
    after = take_payment(db, sandbox, request, CITIZEN)
    assert after.payment.status is PaymentStatus.POSTED and after.receipt is not None


def test_timeout_then_declined_resolves_to_declined(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [7_700])
    outcome = take_payment(
        db, sandbox, card_request([bill], token(sandbox, Behaviour.TIMEOUT_DECLINE)), CITIZEN
    )
    assert outcome.payment.status is PaymentStatus.UNKNOWN
    recover(factory, sandbox, dt.timedelta(0))
    db.refresh(outcome.payment)
    assert outcome.payment.status is PaymentStatus.DECLINED
    assert history(db, outcome.payment) == [
        PaymentStatus.PENDING,
        PaymentStatus.UNKNOWN,
        PaymentStatus.DECLINED,
    ]


def test_recovery_waits_for_the_grace_period(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [7_700])
    take_payment(
        db, sandbox, card_request([bill], token(sandbox, Behaviour.TIMEOUT_APPROVE)), CITIZEN
    )
    assert recover(factory, sandbox, dt.timedelta(minutes=5)) == 0


def test_a_payment_the_gateway_never_heard_of_fails_safely(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    """A crash between writing the row and calling the gateway: nothing was charged."""
    factories.bills(db, [3_000])
    payment = Payment(
        transaction_id="TX-TEST-0000-0001",
        idempotency_key="never-sent",
        channel="portal",
        amount=3_000,
        currency="CAD",
        tender=Tender.CARD,
        status=PaymentStatus.PENDING,
    )
    db.add(payment)
    db.commit()
    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    db.refresh(payment)
    assert payment.status is PaymentStatus.FAILED
    assert "nothing was charged" in (payment.status_reason or "")
