"""No double charge while a card payment is in doubt: its bills are held until it resolves."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import Actor, ActorType
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import HoldOutcome, Invoice, PaymentHold, PaymentStatus, Tender
from shared.payments import holds
from shared.payments.recovery import recover
from shared.payments.taking import Item, PaymentRefused, PaymentRequest, take_payment
from tests import factories
from tests.shared.no_gateway import NoGateway
from tests.shared.sandbox import authorizations, token

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")
CASHIER = Actor(ActorType.STAFF, "cashier")


def card(bill: Invoice, card_token: str, amount: int | None = None) -> PaymentRequest:
    return PaymentRequest(
        items=(Item(bill.invoice_number, amount),),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        card_token=card_token,
        timezone="America/Toronto",
    )


def cash(bill: Invoice, amount: int | None = None) -> PaymentRequest:
    return PaymentRequest(
        items=(Item(bill.invoice_number, amount),),
        tender=Tender.CASH,
        channel="counter",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        cash_tendered=100_000,
    )


def open_holds(db: Session, bill: Invoice) -> list[PaymentHold]:
    return list(
        db.scalars(
            select(PaymentHold).where(
                PaymentHold.invoice_id == bill.id, PaymentHold.released_at.is_(None)
            )
        )
    )


def in_doubt(db: Session, sandbox: SandboxGateway, bill: Invoice) -> PaymentRequest:
    """A card payment for the whole bill that the processor did not answer: `unknown`."""
    request = card(bill, token(sandbox, Behaviour.TIMEOUT_APPROVE))
    assert take_payment(db, sandbox, request, CITIZEN).payment.status is PaymentStatus.UNKNOWN
    return request


def test_a_payment_in_doubt_holds_its_bill_and_a_second_card_is_refused_uncharged(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [32_300])
    in_doubt(db, sandbox, bill)
    second = card(bill, token(sandbox))
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, sandbox, second, CITIZEN)
    assert refused.value.code == "held"
    assert "A payment of $323.00 for bill" in refused.value.message
    assert "is being confirmed" in refused.value.message
    assert "There is no need to pay it again." in refused.value.message
    # Refused before the processor was asked: nothing was charged.
    assert authorizations(sandbox, second.idempotency_key) == 0
    [hold] = open_holds(db, bill)
    assert hold.amount == 32_300


def test_cash_at_the_counter_is_refused_on_a_held_bill_too(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [32_300])
    in_doubt(db, sandbox, bill)
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash(bill), CASHIER)
    assert refused.value.code == "held"
    db.refresh(bill)
    assert bill.amount_paid == 0


def test_only_what_is_held_is_refused_on_a_bill_that_takes_part_payments(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [10_000])
    bill.fee_type.allows_partial = True
    db.commit()
    request = card(bill, token(sandbox, Behaviour.TIMEOUT_APPROVE), amount=4_000)
    take_payment(db, sandbox, request, CITIZEN)
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash(bill, 6_001), CASHIER)
    assert "at most $60.00 more can be paid" in refused.value.message
    outcome = take_payment(db, NoGateway(), cash(bill, 6_000), CASHIER)
    assert outcome.payment.status is PaymentStatus.POSTED


def test_a_decline_releases_the_hold_and_the_bill_can_be_paid(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [7_700])
    first = card(bill, token(sandbox, Behaviour.TIMEOUT_DECLINE))
    take_payment(db, sandbox, first, CITIZEN)
    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    db.expire_all()
    assert open_holds(db, bill) == []
    [released] = db.scalars(select(PaymentHold).where(PaymentHold.invoice_id == bill.id))
    assert released.outcome is HoldOutcome.RELEASED
    second = take_payment(db, sandbox, card(bill, token(sandbox)), CITIZEN)
    assert second.payment.status is PaymentStatus.POSTED


def test_an_approval_applies_the_hold_and_the_bill_is_paid_once(
    db: Session, factory: sessionmaker[Session], sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [7_700])
    in_doubt(db, sandbox, bill)
    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    db.expire_all()
    assert open_holds(db, bill) == []
    [applied] = db.scalars(select(PaymentHold).where(PaymentHold.invoice_id == bill.id))
    assert applied.outcome is HoldOutcome.APPLIED
    db.refresh(bill)
    assert bill.owing == 0 and bill.amount_paid == 7_700
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, sandbox, card(bill, token(sandbox)), CITIZEN)
    assert refused.value.code == "not_owing"


def test_an_immediate_answer_leaves_no_hold_behind(db: Session, sandbox: SandboxGateway) -> None:
    approved, declined = factories.bills(db, [1_000, 2_000])
    take_payment(db, sandbox, card(approved, token(sandbox)), CITIZEN)
    take_payment(db, sandbox, card(declined, token(sandbox, Behaviour.DECLINE)), CITIZEN)
    assert open_holds(db, approved) == [] and open_holds(db, declined) == []
    assert holds.held_on(db, [approved.id, declined.id]) == {}


def test_what_is_held_says_since_when_and_by_which_payment(
    db: Session, sandbox: SandboxGateway
) -> None:
    (bill,) = factories.bills(db, [32_300])
    in_doubt(db, sandbox, bill)
    held = holds.held_on(db, [bill.id])[bill.id]
    payment = db.scalars(select(PaymentHold).where(PaymentHold.invoice_id == bill.id)).one()
    assert held.amount == 32_300
    assert held.since == payment.started_at
    assert held.transaction_id.startswith("TX-")
    # In the reader's language and the organisation's time zone.
    _message, values = holds.notice(held, 32_300, bill.invoice_number, "CAD", "fr", "UTC")
    assert values["held"] == "323,00\xa0$"
    assert values["since"] == held.since.strftime("%H h %M")
