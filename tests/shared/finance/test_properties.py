"""Properties: for any mix of counter payments, drawers counted over or short, card
payments settled or not, and refunds, the journal balances, every payment lands in
exactly one day's journal, and the deposits hold the cash and cheques taken (with the
over/short the counts found) plus the settled card sales net of fees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.finance import deposits, drawers, journal
from shared.finance.deposits import CardTerms
from shared.models import CorrectionKind, GlEntry, GlSource, Tender
from shared.payments import settlement
from tests.shared.finance.helpers import (
    ACCOUNTS,
    at_counter,
    batch_of,
    card_posted,
    correction_row,
    staff,
)

TERMS = CardTerms(175, "CAD", ACCOUNTS.timezone)


@dataclass(frozen=True)
class Drawer:
    takings: list[tuple[int, bool]]  # (amount, by cheque)
    off_by_nickels: int  # the count's over (+) or short (-), in 5-cent steps


@dataclass(frozen=True)
class Card:
    amount: int
    settled: bool
    refund_percent: int  # 0: none


amounts = st.integers(min_value=1, max_value=2_000).map(lambda n: n * 5)
plans = st.tuples(
    st.lists(
        st.builds(
            Drawer,
            st.lists(st.tuples(amounts, st.booleans()), max_size=4),
            st.integers(min_value=-40, max_value=40),
        ),
        max_size=3,
    ),
    st.lists(st.builds(Card, amounts, st.booleans(), st.sampled_from([0, 0, 30, 100])), max_size=4),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plans)
def test_the_journal_balances_and_deposits_hold_what_was_taken(
    db: Session, plan: tuple[list[Drawer], list[Card]]
) -> None:
    drawer_plans, card_plans = plan
    payments = []
    closed = []
    taken = found = 0
    for drawer_plan in drawer_plans:
        cashier = staff(db)
        drawer = drawers.open_drawer(
            db, cashier[0], cashier[1], float_amount=2_000, currency="CAD", key=str(uuid.uuid4())
        )
        for amount, cheque in drawer_plan.takings:
            tender = Tender.CHEQUE if cheque else Tender.CASH
            payments.append(at_counter(db, cashier[1], amount, tender))
            taken += amount
        due = drawers.expected(db, drawer)
        # A shortage never leaves less than the float (that bag would be refused).
        cash = max(due.cash + drawer_plan.off_by_nickels * 5, drawer.float_amount)
        drawers.count(
            db,
            drawer.id,
            cashier[0],
            cashier[1],
            counts={"coin-5": cash // 5},
            cheques=due.cheques,
            tolerance=10_000_000,
            key=str(uuid.uuid4()),
        )
        found += cash - due.cash
        closed.append(drawer.id)
    settled = []
    for card_plan in card_plans:
        card = card_posted(db, card_plan.amount)
        payments.append(card)
        if card_plan.settled:
            settled.append(card)
        if card_plan.refund_percent:
            part = card_plan.amount * card_plan.refund_percent // 100
            if part:
                correction_row(db, card, part, CorrectionKind.REFUND, utcnow())
    actor = staff(db, "finance")
    made = []
    if closed:
        made.append(
            deposits.prepare(
                db,
                actor[0],
                actor[1],
                drawer_ids=closed,
                bag_number=f"BAG-{uuid.uuid4().hex[:10]}",
                currency="CAD",
                timezone=ACCOUNTS.timezone,
                key=str(uuid.uuid4()),
            )
        )
    if settled:
        settlement.import_batch(db, batch_of(settled), actor[1], card_terms=TERMS)
        made.extend(d for p in settled[:1] if (d := deposits.deposit_of(db, p)) is not None)
    db.commit()

    journal.post_pending(db, ACCOUNTS, actor[1])
    db.commit()
    # The journal balances, entry by entry and per day and department.
    everything = db.scalars(select(GlEntry)).all()
    first = min(e.journal_date for e in everything) if everything else None
    if first is not None:
        last = max(e.journal_date for e in everything)
        journal.check_balanced(journal.entries_between(db, first, last))
    # Every payment lands in exactly one day's journal.
    for payment in payments:
        landed = db.scalar(
            select(func.count()).where(
                GlEntry.source == GlSource.PAYMENT, GlEntry.source_id == payment.id
            )
        )
        assert landed == 1
    # The deposits hold the cash and cheques taken, the over/short found, and the settled
    # card sales net of the processor's fees.
    fees = sum(deposits.card_fee(p.amount, TERMS.basis_points) for p in settled)
    expected = taken + found + sum(p.amount for p in settled) - fees
    assert sum(d.total for d in made) == expected
