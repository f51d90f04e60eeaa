"""Daily totals for finance: what was posted each day by department, channel, tender or
terminal over a period; payments still waiting for their card settlement; exceptions open
by age. Department limits apply: someone limited to some departments sees only the parts
of payments that went to them.

Days are local days (PAYDESK_TIMEZONE), so the sums are made here rather than in SQL
(SQLite and PostgreSQL disagree on time zones); a period is at most `MOST_DAYS` long.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.local_time import in_zone
from shared.models import (
    Allocation,
    Department,
    ExceptionCase,
    ExceptionStatus,
    Payment,
    PaymentStatus,
    Tender,
    Terminal,
)

DIMENSIONS = ("department", "channel", "tender", "terminal")
MOST_DAYS = 366
# Exceptions open for less than a day, a day to a week, longer.
AGES = (("day", dt.timedelta(days=1)), ("week", dt.timedelta(days=7)), ("older", None))


@dataclass(frozen=True, slots=True)
class Total:
    day: dt.date
    key: str
    payments: int
    amount: int


def _bounds(first: dt.date, last: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def daily_totals(
    session: Session,
    first: dt.date,
    last: dt.date,
    by: str,
    timezone: str,
    departments: frozenset[int] | None,
) -> list[Total]:
    """Posted money per local day and `by` (one of DIMENSIONS), day by day, key by key."""
    if by not in DIMENSIONS:
        raise ValueError(by)
    start, end = _bounds(first, last, timezone)
    key_column = {
        "department": Department.code,
        "channel": Payment.channel,
        "tender": Payment.tender,
        "terminal": Terminal.code,
    }[by]
    query = (
        select(Payment.id, Payment.posted_at, key_column, Allocation.amount)
        .join(Allocation, Allocation.payment_id == Payment.id)
        .join(Department, Department.id == Allocation.department_id)
        .outerjoin(Terminal, Terminal.id == Payment.terminal_id)
        .where(Payment.posted_at >= start, Payment.posted_at < end)
    )
    if departments is not None:
        query = query.where(Allocation.department_id.in_(departments))
    amounts: dict[tuple[dt.date, str], int] = defaultdict(int)
    payments: dict[tuple[dt.date, str], set[int]] = defaultdict(set)
    for payment_id, posted_at, key, amount in session.execute(query):
        assert posted_at is not None  # the query's bounds
        cell = (in_zone(posted_at, timezone).date(), str(key or "–"))
        amounts[cell] += amount
        payments[cell].add(payment_id)
    return [
        Total(day, key, len(payments[(day, key)]), amounts[(day, key)])
        for day, key in sorted(amounts)
    ]


def by_key(totals: list[Total]) -> list[tuple[str, int]]:
    """The period's total per key, largest first (what the chart draws)."""
    summed: dict[str, int] = defaultdict(int)
    for total in totals:
        summed[total.key] += total.amount
    return sorted(summed.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True, slots=True)
class Unsettled:
    payments: int
    amount: int
    oldest: dt.datetime | None


def unsettled(session: Session, departments: frozenset[int] | None) -> Unsettled:
    """Card payments posted and not settled yet."""
    query = select(func.count(func.distinct(Payment.id)), func.min(Payment.posted_at)).where(
        Payment.status == PaymentStatus.POSTED, Payment.tender == Tender.CARD
    )
    amount_query = (
        select(func.coalesce(func.sum(Allocation.amount), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Payment.status == PaymentStatus.POSTED, Payment.tender == Tender.CARD)
    )
    if departments is not None:
        limited = select(Allocation.payment_id).where(Allocation.department_id.in_(departments))
        query = query.where(Payment.id.in_(limited))
        amount_query = amount_query.where(Allocation.department_id.in_(departments))
    count, oldest = session.execute(query).one()
    return Unsettled(int(count), int(session.scalar(amount_query) or 0), oldest)


def exceptions_by_age(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Open exceptions counted by how long they have been open."""
    now = now or utcnow()
    counts = dict.fromkeys((name for name, _ in AGES), 0)
    for opened_at in session.scalars(
        select(ExceptionCase.opened_at).where(ExceptionCase.status == ExceptionStatus.OPEN)
    ):
        age = now - opened_at
        name = next(n for n, limit in AGES if limit is None or age < limit)
        counts[name] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a server-drawn SVG chart (coordinates in the chart's own units)."""

    label: str
    amount: int
    y: int
    width: int


CHART_WIDTH = 600
BAR_HEIGHT = 24
LABEL_WIDTH = 160


def bars(rows: list[tuple[str, int]]) -> list[Bar]:
    """Horizontal bars scaled to the largest amount (negative amounts draw as nothing)."""
    most = max((amount for _key, amount in rows), default=0)
    room = CHART_WIDTH - LABEL_WIDTH - 120
    return [
        Bar(key, amount, index * (BAR_HEIGHT + 8), max(amount, 0) * room // most if most > 0 else 0)
        for index, (key, amount) in enumerate(rows)
    ]
