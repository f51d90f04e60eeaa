from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.i18n import current_locale
from shared.models import (
    AccountStatus,
    Allocation,
    AuditEvent,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Receipt,
    Tender,
)
from shared.payments.taking import (
    IdempotencyConflict,
    Item,
    PaymentRefused,
    PaymentRequest,
    take_payment,
)
from tests import factories
from tests.shared.no_gateway import NoGateway

CASHIER = Actor(ActorType.STAFF, "cashier1")


def cash(items: list[Item], tendered: int, key: str | None = None, **kw: object) -> PaymentRequest:
    return PaymentRequest(
        items=tuple(items),
        tender=Tender.CASH,
        channel=kw.pop("channel", "counter"),  # type: ignore[arg-type]
        idempotency_key=key or str(uuid.uuid4()),
        currency="CAD",
        cash_tendered=tendered,
        **kw,  # type: ignore[arg-type]
    )


def test_one_payment_across_departments_gives_one_receipt_and_updates_balances(db: Session) -> None:
    tax, water = factories.bills(db, [125_000, 8_450])
    db.commit()
    outcome = take_payment(
        db,
        NoGateway(),
        cash([Item(tax.invoice_number), Item(water.invoice_number)], 140_000),
        CASHIER,
    )
    payment = outcome.payment
    assert payment.status is PaymentStatus.POSTED
    assert payment.amount == 133_450
    assert outcome.change_due is not None and outcome.change_due.minor == 6_550
    allocations = db.scalars(select(Allocation).where(Allocation.payment_id == payment.id)).all()
    assert sorted(a.amount for a in allocations) == [8_450, 125_000]
    assert len({a.department_id for a in allocations}) == 2
    assert outcome.receipt is not None
    assert outcome.receipt.receipt_number.startswith("R-")
    db.refresh(tax)
    db.refresh(water)
    assert tax.status is InvoiceStatus.PAID and water.owing == 0
    assert tax.account.balance == 0


def test_every_transition_is_in_history_and_audit(db: Session) -> None:
    (bill,) = factories.bills(db, [5_000])
    outcome = take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 5_000), CASHIER)
    history = db.scalars(
        select(PaymentStatusChange)
        .where(PaymentStatusChange.payment_id == outcome.payment.id)
        .order_by(PaymentStatusChange.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, PaymentStatus.PENDING),
        (PaymentStatus.PENDING, PaymentStatus.POSTED),
    ]
    assert all(h.actor == "staff:cashier1" for h in history)
    assert outcome.payment.posted_at is not None
    assert audit.verify(db).ok


def test_partial_payment_leaves_the_rest_owing(db: Session) -> None:
    (bill,) = factories.bills(db, [10_000])
    take_payment(db, NoGateway(), cash([Item(bill.invoice_number, 2_500)], 2_500), CASHIER)
    db.refresh(bill)
    assert (bill.owing, bill.status) == (7_500, InvoiceStatus.OPEN)


def test_lump_sum_is_spread_by_largest_remainder(db: Session) -> None:
    a, b, c = factories.bills(db, [5_000, 3_000, 4_000])
    request = cash([Item(x.invoice_number) for x in (a, b, c)], 10_000, lump_sum=10_000)
    outcome = take_payment(db, NoGateway(), request, CASHIER)
    amounts = db.scalars(
        select(Allocation.amount)
        .where(Allocation.payment_id == outcome.payment.id)
        .order_by(Allocation.id)
    ).all()
    assert list(amounts) == [4_167, 2_500, 3_333]


def test_same_key_same_request_returns_the_original(db: Session) -> None:
    (bill,) = factories.bills(db, [5_000])
    request = cash([Item(bill.invoice_number)], 5_000, key="retry-me")
    first = take_payment(db, NoGateway(), request, CASHIER)
    again = take_payment(db, NoGateway(), request, CASHIER)
    assert again.replayed and again.payment.id == first.payment.id
    assert again.receipt is not None and first.receipt is not None
    assert again.receipt.receipt_number == first.receipt.receipt_number
    assert db.scalar(select(func.count()).select_from(Receipt)) == 1


def test_same_key_different_request_is_a_conflict(db: Session) -> None:
    bill, other = factories.bills(db, [5_000, 7_000])
    take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 5_000, key="k1"), CASHIER)
    with pytest.raises(IdempotencyConflict):
        take_payment(db, NoGateway(), cash([Item(other.invoice_number)], 7_000, key="k1"), CASHIER)


@pytest.mark.parametrize(
    ("status", "code"),
    [(AccountStatus.CLOSED, "account_closed"), (AccountStatus.HOLD, "account_hold")],
)
def test_closed_and_held_accounts_refuse_payment_with_a_reason(
    db: Session, status: AccountStatus, code: str
) -> None:
    (bill,) = factories.bills(db, [5_000], status=status)
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 5_000), CASHIER)
    assert refused.value.code == code
    assert "cannot take payments" in refused.value.message
    assert db.scalar(select(func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    ("amount", "tendered", "code"),
    [(6_000, 6_000, "amount_exceeds"), (0, 0, "amount_not_positive"), (5_000, 4_999, "cash_short")],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    db: Session, amount: int, tendered: int, code: str
) -> None:
    (bill,) = factories.bills(db, [5_000])
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash([Item(bill.invoice_number, amount)], tendered), CASHIER)
    assert refused.value.code == code
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    assert audit.verify(db).ok


def test_a_refusal_reads_in_the_staff_members_language_and_is_audited_in_english(
    db: Session,
) -> None:
    (bill,) = factories.bills(db, [5_000])
    token = current_locale.set("fr")
    try:
        with pytest.raises(PaymentRefused) as refused:
            take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 4_999), CASHIER)
        assert refused.value.message == "L’argent remis est inférieur au montant dû."
    finally:
        current_locale.reset(token)
    assert refused.value.message == "The cash tendered is less than the amount due."
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == audit.AuditAction.PAYMENT_REQUEST_REFUSED)
    ).one()
    assert event.reason == "The cash tendered is less than the amount due."
    assert event.details == {"code": "cash_short"}


def test_a_refusal_names_the_bill_in_every_language(db: Session) -> None:
    (bill,) = factories.bills(db, [5_000])
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash([Item(bill.invoice_number, 6_000)], 6_000), CASHIER)
    token = current_locale.set("es")
    try:
        message = refused.value.message
    finally:
        current_locale.reset(token)
    assert message.startswith(f"La factura {bill.invoice_number} debe ")
    assert refused.value.english.startswith(f"Bill {bill.invoice_number} owes ")


def test_all_or_nothing_fees_refuse_part_payment(db: Session) -> None:
    cust = factories.customer(db)
    dept = factories.department(db, name="Enforcement")
    fine = factories.invoice(
        db,
        factories.account(db, cust, dept),
        factories.fee_type(db, dept, allows_partial=False),
        9_000,
    )
    db.commit()
    with pytest.raises(PaymentRefused, match="must be paid in full"):
        take_payment(db, NoGateway(), cash([Item(fine.invoice_number, 1_000)], 1_000), CASHIER)


def test_cheque_needs_a_number_and_records_it(db: Session) -> None:
    (bill,) = factories.bills(db, [5_000])
    base = dict(
        items=(Item(bill.invoice_number),), tender=Tender.CHEQUE, channel="counter", currency="CAD"
    )
    with pytest.raises(PaymentRefused, match="cheque number"):
        take_payment(db, NoGateway(), PaymentRequest(idempotency_key="c1", **base), CASHIER)  # type: ignore[arg-type]
    outcome = take_payment(
        db,
        NoGateway(),
        PaymentRequest(idempotency_key="c2", cheque_number=" 000123 ", **base),
        CASHIER,  # type: ignore[arg-type]
    )
    assert outcome.payment.cheque_number == "000123"
    assert outcome.payment.status is PaymentStatus.POSTED


def test_a_paid_bill_cannot_be_paid_again(db: Session) -> None:
    (bill,) = factories.bills(db, [5_000])
    take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 5_000), CASHIER)
    with pytest.raises(PaymentRefused, match="nothing left to pay"):
        take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 5_000), CASHIER)


def test_two_bills_on_one_account_both_come_off_its_balance(db: Session) -> None:
    cust = factories.customer(db)
    dept = factories.department(db, name="Water")
    acc = factories.account(db, cust, dept)
    fee = factories.fee_type(db, dept)
    spring, summer = factories.invoice(db, acc, fee, 4_000), factories.invoice(db, acc, fee, 6_500)
    db.commit()
    request = cash([Item(spring.invoice_number), Item(summer.invoice_number, 2_500)], 6_500)
    take_payment(db, NoGateway(), request, CASHIER)
    db.refresh(acc)
    assert acc.balance == 4_000
    assert (spring.status, spring.owing, summer.owing) == (InvoiceStatus.PAID, 0, 4_000)


def test_a_reused_key_is_a_conflict_even_when_the_new_request_would_be_refused(
    db: Session,
) -> None:
    (bill,) = factories.bills(db, [5_000])
    take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 5_000, key="k2"), CASHIER)
    # The bill is paid now; the same key for a different request says so, not "nothing owing".
    with pytest.raises(IdempotencyConflict):
        take_payment(db, NoGateway(), cash([Item(bill.invoice_number)], 6_000, key="k2"), CASHIER)
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
