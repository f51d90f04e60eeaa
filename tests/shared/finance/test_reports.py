"""Daily totals by department, channel, tender and terminal; unsettled card payments;
the chart's bars; department limits, on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.finance import reports
from shared.local_time import in_zone
from shared.models import Tender
from tests.shared.finance.helpers import ACCOUNTS, at_counter, card_posted, staff

TZ = ACCOUNTS.timezone


def test_totals_by_department_and_tender_within_the_readers_departments(db: Session) -> None:
    cashier = staff(db)
    cash = at_counter(db, cashier[1], 4_000)
    cheque = at_counter(db, cashier[1], 6_000, Tender.CHEQUE)
    card = card_posted(db, 2_500)
    today = in_zone(utcnow(), TZ).date()
    mine = {p.allocations[0].department_id for p in (cash, cheque, card)}
    by_tender = reports.daily_totals(db, today, today, "tender", TZ, frozenset(mine))
    assert {(t.key, t.payments, t.amount) for t in by_tender} == {
        ("cash", 1, 4_000),
        ("cheque", 1, 6_000),
        ("card", 1, 2_500),
    }
    # Limited to the cash payment's department, only its money shows.
    only = frozenset({cash.allocations[0].department_id})
    limited = reports.daily_totals(db, today, today, "department", TZ, only)
    assert [(t.payments, t.amount) for t in limited] == [(1, 4_000)]
    # Yesterday holds none of them.
    yesterday = today - dt.timedelta(days=1)
    assert reports.daily_totals(db, yesterday, yesterday, "channel", TZ, frozenset(mine)) == []
    assert reports.unsettled(db, frozenset(mine)) == reports.Unsettled(1, 2_500, card.posted_at)


def test_the_chart_scales_to_the_largest_total() -> None:
    bars = reports.bars([("tax", 10_000), ("water", 5_000), ("refunds", -100)])
    assert bars[0].width == 2 * bars[1].width and bars[2].width == 0
    assert [b.y for b in bars] == [0, reports.BAR_HEIGHT + 8, 2 * (reports.BAR_HEIGHT + 8)]
    assert reports.bars([]) == []
