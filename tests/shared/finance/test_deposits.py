"""Deposits: closed drawers into a bag with a slip, card batches as expected deposits net
of the processor's fees; idempotent, on both databases."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.finance import deposits, drawers
from shared.finance.deposits import CardTerms, DepositError
from shared.models import Deposit, DepositKind, DrawerSession, Tender
from shared.payments import settlement
from tests.shared.finance.helpers import at_counter, batch_of, card_posted, staff
from tests.shared.receipts.test_render import pdf_text

TERMS = CardTerms(basis_points=175, currency="CAD", timezone="America/Toronto")
WORDS = {
    "title": "Deposit slip",
    "bag": "Bag",
    "date": "Business day",
    "cash": "Cash",
    "cheques": "Cheques",
    "total": "Total",
    "drawers": "Drawers",
    "prepared": "Prepared",
    "signature": "Signature",
}


def _closed_drawer(db: Session, cash: list[int], cheques: list[int]) -> DrawerSession:
    cashier = staff(db)
    drawer = drawers.open_drawer(
        db, cashier[0], cashier[1], float_amount=10_000, currency="CAD", key=str(uuid.uuid4())
    )
    db.commit()
    for amount in cash:
        at_counter(db, cashier[1], amount)
    for amount in cheques:
        at_counter(db, cashier[1], amount, Tender.CHEQUE)
    due = drawers.expected(db, drawer)
    # Count exactly what is expected: all in $5 notes and 5-cent coins.
    counts = {"note-500": due.cash // 500, "coin-5": (due.cash % 500) // 5}
    drawers.count(
        db,
        drawer.id,
        cashier[0],
        cashier[1],
        counts=counts,
        cheques=due.cheques,
        tolerance=0,
        key=str(uuid.uuid4()),
    )
    db.commit()
    return drawer


def test_closed_drawers_go_into_a_bag_without_their_floats(db: Session) -> None:
    first = _closed_drawer(db, [4_500, 2_015], [12_000])
    second = _closed_drawer(db, [1_000], [])
    preparer = staff(db, "finance")
    key = str(uuid.uuid4())
    deposit = deposits.prepare(
        db,
        preparer[0],
        preparer[1],
        drawer_ids=[first.id, second.id],
        bag_number="BAG-0001",
        currency="CAD",
        timezone="America/Toronto",
        key=key,
    )
    db.commit()
    assert (deposit.cash, deposit.cheques, deposit.total) == (7_515, 12_000, 19_515)
    assert {first.deposit_id, second.deposit_id} == {deposit.id}
    assert len(deposits.payments_in(db, deposit)) == 4
    # A double submit finds the same deposit; the drawers are in it, so no other bag takes them.
    again = deposits.prepare(
        db,
        preparer[0],
        preparer[1],
        drawer_ids=[first.id],
        bag_number="BAG-0001",
        currency="CAD",
        timezone="America/Toronto",
        key=key,
    )
    assert again.id == deposit.id
    with pytest.raises(DepositError) as taken:
        deposits.prepare(
            db,
            preparer[0],
            preparer[1],
            drawer_ids=[first.id],
            bag_number="BAG-0002",
            currency="CAD",
            timezone="America/Toronto",
            key=str(uuid.uuid4()),
        )
    assert taken.value.code == "not_closed"
    with pytest.raises(DepositError) as bag:
        deposits.prepare(
            db,
            preparer[0],
            preparer[1],
            drawer_ids=[_closed_drawer(db, [500], []).id],
            bag_number="BAG-0001",
            currency="CAD",
            timezone="America/Toronto",
            key=str(uuid.uuid4()),
        )
    assert bag.value.code == "bag_used"
    slip = deposits.slip_pdf(
        deposit, [first, second], "City of Riverton", "en", WORDS, dt.datetime.now(dt.UTC)
    )
    text = "\n".join(pdf_text(slip))
    assert "BAG-0001" in text and "$195.15" in text and "$75.15" in text and "$120.00" in text


def test_an_open_drawer_cannot_be_deposited(db: Session) -> None:
    cashier, preparer = staff(db), staff(db, "finance")
    drawer = drawers.open_drawer(
        db, cashier[0], cashier[1], float_amount=0, currency="CAD", key=str(uuid.uuid4())
    )
    with pytest.raises(DepositError) as refused:
        deposits.prepare(
            db,
            preparer[0],
            preparer[1],
            drawer_ids=[drawer.id],
            bag_number="BAG-OPEN",
            currency="CAD",
            timezone="America/Toronto",
            key=str(uuid.uuid4()),
        )
    assert refused.value.code == "not_closed"


def test_a_card_batch_becomes_a_deposit_net_of_fees_once(db: Session) -> None:
    sales = [card_posted(db, amount) for amount in (10_000, 2_550)]
    batch = batch_of(sales)
    settlement.import_batch(db, batch, staff(db)[1], card_terms=TERMS)
    settlement.import_batch(db, batch, staff(db)[1], card_terms=TERMS)
    db.commit()
    found = db.scalars(
        select(Deposit).where(Deposit.idempotency_key == f"card-batch:{batch.batch_id}")
    ).all()
    assert len(found) == 1
    (deposit,) = found
    # 1.75 % of $100.00 is $1.75; of $25.50, 44.625 cents rounds to 45.
    assert deposit.kind is DepositKind.CARD
    assert (deposit.card_gross, deposit.card_fees, deposit.total) == (12_550, 220, 12_330)
    assert {p.id for p in deposits.payments_in(db, deposit)} == {p.id for p in sales}
    assert deposits.deposit_of(db, sales[0]) == deposit
    assert (
        db.scalar(select(func.count()).select_from(Deposit).where(Deposit.kind == DepositKind.CARD))
        >= 1
    )
