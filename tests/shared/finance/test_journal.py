"""The general-ledger journal: balanced entries per day and department, corrections as
their own entries, card fees and over/short; exports that close their days, stored byte
for byte; the trail from a GL line to its payments and back, on both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.finance import drawers, export_files, journal
from shared.finance.deposits import CardTerms
from shared.finance.journal import JournalError
from shared.models import AuditEvent, CorrectionKind, GlEntry, GlSource, Payment, Tender
from shared.payments import settlement
from tests.shared.finance.helpers import (
    ACCOUNTS,
    at_counter,
    batch_of,
    card_posted,
    correction_row,
    staff,
)

TZ = ACCOUNTS.timezone


def _today() -> dt.date:
    return journal.local_day(utcnow(), TZ)


def _days_ago(payment: Payment, days: int) -> None:
    assert payment.posted_at is not None
    payment.posted_at -= dt.timedelta(days=days)


def _by_account(entries: list[GlEntry]) -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in entries:
        for line in entry.lines:
            out[line.gl_account] = out.get(line.gl_account, 0) + line.debit - line.credit
    return out


def test_a_day_of_payments_corrections_fees_and_a_shortage_balances(db: Session) -> None:
    cashier = staff(db)
    drawer = drawers.open_drawer(
        db, cashier[0], cashier[1], float_amount=0, currency="CAD", key=str(uuid.uuid4())
    )
    cash = at_counter(db, cashier[1], 5_000)
    cheque = at_counter(db, cashier[1], 7_000, Tender.CHEQUE)
    card = card_posted(db, 10_000)
    # Counted $1 short of $50 + $70 in cheques, within a $5 tolerance.
    drawers.count(
        db,
        drawer.id,
        cashier[0],
        cashier[1],
        counts={"note-2000": 2, "note-500": 1, "coin-200": 2},
        cheques=7_000,
        tolerance=500,
        key="count",
    )
    settlement.import_batch(db, batch_of([card]), cashier[1], card_terms=CardTerms(175, "CAD", TZ))
    correction_row(db, card, 2_500, CorrectionKind.REFUND, utcnow())
    db.commit()
    entries = journal.post_pending(db, ACCOUNTS, cashier[1])
    db.commit()
    mine = [
        e
        for e in journal.entries_between(db, _today(), _today())
        if e.id in {x.id for x in entries}
    ]
    journal.check_balanced(mine)
    sources = sorted(e.source.value for e in mine)
    assert sources == ["card_fees", "correction", "over_short", "payment", "payment", "payment"]
    totals = _by_account(mine)
    revenue = {a.gl_account for p in (cash, cheque, card) for a in p.allocations}
    # Cash and cheques in, less the shortage; card in, less the refund and the fees.
    assert totals["1010-CASH"] == 5_000 + 7_000 - 100
    assert totals["1020-CARD"] == 10_000 - 2_500 - 175
    assert totals["6100-FEES"] == 175 and totals["6150-OS"] == 100
    assert sum(totals[a] for a in revenue) == -(5_000 + 7_000 + 10_000 - 2_500)
    # Posting again finds nothing new: each thing is journaled once.
    assert journal.post_pending(db, ACCOUNTS, cashier[1]) == []
    # The trail: from the card payment to its entries (sale, refund), and back.
    trail = journal.entries_for_payment(db, card)
    assert {e.source for e in trail} == {GlSource.PAYMENT, GlSource.CORRECTION}
    for entry in trail:
        assert [p.id for p in journal.payments_behind(db, entry.source, entry.source_id)] == [
            card.id
        ]
    over_short = next(e for e in mine if e.source is GlSource.OVER_SHORT)
    assert {p.id for p in journal.payments_behind(db, over_short.source, over_short.source_id)} == {
        cash.id,
        cheque.id,
    }


def test_an_export_closes_its_days_and_later_news_goes_to_the_next_open_day(
    db: Session,
) -> None:
    finance = staff(db, "finance")
    # Far enough back that no other test's entries share the days.
    back = 400 + uuid.uuid4().int % 3000
    payment = at_counter(db, finance[1], 3_300)
    card = card_posted(db, 4_400)
    _days_ago(payment, back)
    card.posted_at = payment.posted_at
    db.commit()
    # Its local day (across a change of summer time, late evening moves a day on).
    assert payment.posted_at is not None
    day = journal.local_day(payment.posted_at, TZ)
    done = journal.export(db, ACCOUNTS, finance[0], finance[1], day, day)
    db.commit()
    rows = list(csv.DictReader(io.StringIO(done.csv_bytes.decode())))
    assert {r["journal_date"] for r in rows} == {day.isoformat()}
    assert sum(int(r["debit"].replace(".", "")) for r in rows) == 7_700 == done.debits
    assert done.debits == done.credits
    fixed = done.fixed_bytes.decode("ascii").splitlines()
    assert all(len(line) == export_files.RECORD_WIDTH for line in fixed)
    assert fixed[-1].startswith(f"T{day:%Y%m%d}{day:%Y%m%d}{len(rows):010d}")
    assert fixed[0][0] == "D" and fixed[0][1:9] == f"{day:%Y%m%d}"
    # Exporting the same day again gives the same bytes; an overlapping period is refused.
    again = journal.export(db, ACCOUNTS, finance[0], finance[1], day, day)
    assert (again.id, again.csv_bytes, again.fixed_bytes) == (
        done.id,
        done.csv_bytes,
        done.fixed_bytes,
    )
    with pytest.raises(JournalError) as overlap:
        journal.export(db, ACCOUNTS, finance[0], finance[1], day - dt.timedelta(days=1), day)
    assert overlap.value.code == "closed"
    with pytest.raises(JournalError) as not_over:
        journal.export(db, ACCOUNTS, finance[0], finance[1], _today(), _today())
    assert not_over.value.code == "not_over"
    # A refund of that day's card payment, dated in the closed day, lands the day after.
    correction = correction_row(
        db, card, 1_000, CorrectionKind.REFUND, dt.datetime.combine(day, dt.time(15), dt.UTC)
    )
    db.commit()
    journal.post_pending(db, ACCOUNTS, finance[1])
    entry = db.scalars(
        select(GlEntry).where(
            GlEntry.source == GlSource.CORRECTION, GlEntry.source_id == correction.id
        )
    ).one()
    assert (entry.occurred_on, entry.journal_date) == (day, day + dt.timedelta(days=1))
    assert journal.is_closed(db, day) and not journal.is_closed(db, day + dt.timedelta(days=1))
    exported = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "finance:journal:exported", AuditEvent.object_id == str(done.id)
        )
    ).one()
    assert exported.details["sha256"] == done.sha256


def test_a_backwards_range_is_refused(db: Session) -> None:
    finance = staff(db, "finance")
    with pytest.raises(JournalError) as refused:
        journal.export(
            db, ACCOUNTS, finance[0], finance[1], _today(), _today() - dt.timedelta(days=1)
        )
    assert refused.value.code == "range"


def test_the_next_open_day_skips_every_closed_range() -> None:
    d = dt.date(2026, 3, 1)
    ranges = [(d, d + dt.timedelta(days=1)), (d + dt.timedelta(days=2), d + dt.timedelta(days=4))]
    assert journal.open_day_for(d, ranges) == d + dt.timedelta(days=5)
    assert journal.open_day_for(d - dt.timedelta(days=1), ranges) == d - dt.timedelta(days=1)
