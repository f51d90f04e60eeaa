"""The general-ledger journal: one balanced entry per thing that moved money, per day.

Sources, each journaled once (a unique key on source and id):

- a posted payment: debit the tender's account (cash and cheques: PAYDESK_GL_CASH; card:
  PAYDESK_GL_CARD_CLEARING), credit each allocation's fee-type GL account, per department
  (money beyond the bills goes to PAYDESK_GL_UNAPPLIED);
- a correction (refund, void, reversal, adjustment), as its own entry: each line's GL
  account against the payment's tender account (an adjustment: PAYDESK_GL_RECEIVABLE);
- a drawer closed over or short: cash against PAYDESK_GL_OVER_SHORT;
- a card batch's fees: PAYDESK_GL_CARD_FEES against card clearing.

An entry lands on the local day (PAYDESK_TIMEZONE) it happened, or, when that day was
exported already, on the next open day: an exported day is closed and its stored export
never changes. Entries are written by `post_pending` (before an export, by the worker,
by `paydesk journal post`), under a lock so two posters never race; pages show what is
pending as well, unsaved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session, selectinload

from shared import audit
from shared.actors import Actor
from shared.config import Settings
from shared.db import utcnow
from shared.finance import export_files
from shared.i18n import N_, gettext_
from shared.local_time import in_zone
from shared.models import (
    Account,
    Correction,
    CorrectionKind,
    Department,
    DrawerSession,
    DrawerStatus,
    GlEntry,
    GlExport,
    GlLine,
    GlSource,
    Payment,
    SettlementBatchRecord,
    StaffUser,
    Tender,
)

_LOCK_KEY = 720_020  # a PostgreSQL advisory lock: one poster or exporter at a time


class JournalError(Exception):
    """The journal cannot do that; `message` says why, in the reader's language."""

    def __init__(self, code: str, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.code = code
        self._message, self._values = message, values

    @property
    def message(self) -> str:
        translated = gettext_(self._message)
        return translated % self._values if self._values else translated


@dataclass(frozen=True, slots=True)
class Accounts:
    cash: str
    card_clearing: str
    card_fees: str
    over_short: str
    receivable: str
    unapplied: str
    currency: str
    timezone: str

    @classmethod
    def of(cls, settings: Settings) -> Accounts:
        return cls(
            settings.gl_cash,
            settings.gl_card_clearing,
            settings.gl_card_fees,
            settings.gl_over_short,
            settings.gl_receivable,
            settings.gl_unapplied,
            settings.currency,
            settings.timezone,
        )

    def for_tender(self, tender: Tender | None) -> str:
        return self.card_clearing if tender == Tender.CARD else self.cash


@dataclass
class Draft:
    """An entry not written yet; `amounts` are signed (positive debits, negative credits)."""

    source: GlSource
    source_id: int
    occurred_at: dt.datetime
    reference: str
    amounts: dict[tuple[int | None, str, str], int] = field(default_factory=dict)

    def add(self, department_id: int | None, account: str, signed: int, memo: str) -> None:
        key = (department_id, account, memo)
        self.amounts[key] = self.amounts.get(key, 0) + signed

    def lines(self) -> list[GlLine]:
        return [
            GlLine(
                department_id=department_id,
                gl_account=account,
                debit=max(signed, 0),
                credit=max(-signed, 0),
                memo=memo[:200],
            )
            for (department_id, account, memo), signed in self.amounts.items()
            if signed
        ]


def local_day(moment: dt.datetime, timezone: str) -> dt.date:
    return in_zone(moment, timezone).date()


def _not_journaled(source: GlSource, column: object) -> object:
    return ~exists().where(GlEntry.source == source, GlEntry.source_id == column)


def _payment_drafts(session: Session, accounts: Accounts) -> Iterable[Draft]:
    payments = session.scalars(
        select(Payment)
        .where(Payment.posted_at.is_not(None), _not_journaled(GlSource.PAYMENT, Payment.id))  # type: ignore[arg-type]
        .options(selectinload(Payment.allocations))
        .order_by(Payment.id)
    )
    for payment in payments:
        assert payment.posted_at is not None
        draft = Draft(GlSource.PAYMENT, payment.id, payment.posted_at, payment.transaction_id)
        tender_account = accounts.for_tender(payment.tender)
        memo = f"{payment.tender} {payment.transaction_id}"
        for allocation in payment.allocations:
            draft.add(allocation.department_id, tender_account, allocation.amount, memo)
            draft.add(allocation.department_id, allocation.gl_account, -allocation.amount, memo)
        beyond = payment.amount - sum(a.amount for a in payment.allocations)
        if beyond:
            draft.add(None, tender_account, beyond, memo)
            draft.add(None, accounts.unapplied, -beyond, memo)
        yield draft


def _correction_drafts(session: Session, accounts: Accounts) -> Iterable[Draft]:
    corrections = list(
        session.scalars(
            select(Correction)
            .where(_not_journaled(GlSource.CORRECTION, Correction.id))  # type: ignore[arg-type]
            .options(selectinload(Correction.lines))
            .order_by(Correction.id)
        )
    )
    account_ids = {line.account_id for c in corrections for line in c.lines}
    departments = dict(
        session.execute(
            select(Account.id, Account.department_id).where(Account.id.in_(account_ids))
        ).all()
    )
    payment_ids = {c.payment_id for c in corrections if c.payment_id}
    payments = {
        p.id: p for p in session.scalars(select(Payment).where(Payment.id.in_(payment_ids)))
    }
    for correction in corrections:
        payment = payments.get(correction.payment_id) if correction.payment_id else None
        reference = f"{correction.kind}-{correction.id}"
        draft = Draft(GlSource.CORRECTION, correction.id, correction.created_at, reference)
        if correction.kind is CorrectionKind.ADJUSTMENT or payment is None:
            counter = accounts.receivable
        else:
            counter = accounts.for_tender(payment.tender)
        memo = f"{correction.kind} {payment.transaction_id if payment else reference}"
        for line in correction.lines:
            # A line's amount is signed as the bill sees it: money off what was paid
            # (negative) debits revenue; what the bill owes more (positive) credits it.
            department = departments.get(line.account_id)
            draft.add(department, line.gl_account, -line.amount, memo)
            draft.add(department, counter, line.amount, memo)
        yield draft


def _over_short_drafts(session: Session, accounts: Accounts) -> Iterable[Draft]:
    drawers = session.scalars(
        select(DrawerSession)
        .where(
            DrawerSession.status == DrawerStatus.CLOSED,
            _not_journaled(GlSource.OVER_SHORT, DrawerSession.id),  # type: ignore[arg-type]
        )
        .order_by(DrawerSession.id)
    )
    for drawer in drawers:
        over_short = drawer.over_short or 0
        if not over_short or drawer.closed_at is None:
            continue
        draft = Draft(GlSource.OVER_SHORT, drawer.id, drawer.closed_at, f"drawer-{drawer.id}")
        memo = f"{'over' if over_short > 0 else 'short'} drawer {drawer.id}"
        draft.add(None, accounts.cash, over_short, memo)
        draft.add(None, accounts.over_short, -over_short, memo)
        yield draft


def _card_fee_drafts(session: Session, accounts: Accounts) -> Iterable[Draft]:
    batches = session.scalars(
        select(SettlementBatchRecord)
        .where(
            SettlementBatchRecord.fees != 0,
            _not_journaled(GlSource.CARD_FEES, SettlementBatchRecord.id),  # type: ignore[arg-type]
        )
        .order_by(SettlementBatchRecord.id)
    )
    for batch in batches:
        draft = Draft(GlSource.CARD_FEES, batch.id, batch.closed_at, f"batch-{batch.batch_id}")
        memo = f"card fees {batch.batch_id}"
        draft.add(None, accounts.card_fees, batch.fees, memo)
        draft.add(None, accounts.card_clearing, -batch.fees, memo)
        yield draft


def pending(session: Session, accounts: Accounts) -> list[Draft]:
    """Everything that moved money and is in no entry yet."""
    return [
        *_payment_drafts(session, accounts),
        *_correction_drafts(session, accounts),
        *_over_short_drafts(session, accounts),
        *_card_fee_drafts(session, accounts),
    ]


# -- closed days ---------------------------------------------------------------------


def closed_ranges(session: Session) -> list[tuple[dt.date, dt.date]]:
    return [
        (first, last)
        for first, last in session.execute(
            select(GlExport.first_day, GlExport.last_day).order_by(GlExport.first_day)
        ).all()
    ]


def _is_closed(day: dt.date, ranges: Sequence[tuple[dt.date, dt.date]]) -> bool:
    return any(first <= day <= last for first, last in ranges)


def open_day_for(day: dt.date, ranges: Sequence[tuple[dt.date, dt.date]]) -> dt.date:
    """`day`, or the first day after it that no export closed."""
    while True:
        moved = False
        for first, last in ranges:
            if first <= day <= last:
                day, moved = last + dt.timedelta(days=1), True
        if not moved:
            return day


def is_closed(session: Session, day: dt.date) -> bool:
    return _is_closed(day, closed_ranges(session))


def _lock(session: Session) -> None:
    """One poster or exporter at a time (SQLite: one writer at a time already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _entry(draft: Draft, ranges: Sequence[tuple[dt.date, dt.date]], timezone: str) -> GlEntry:
    occurred = local_day(draft.occurred_at, timezone)
    return GlEntry(
        source=draft.source,
        source_id=draft.source_id,
        occurred_on=occurred,
        journal_date=open_day_for(occurred, ranges),
        reference=draft.reference[:64],
        created_at=utcnow(),
        lines=draft.lines(),
    )


def post_pending(session: Session, accounts: Accounts, actor: Actor) -> list[GlEntry]:
    """Write an entry for everything pending, each on its day or the next open one."""
    _lock(session)
    ranges = closed_ranges(session)
    entries = [_entry(draft, ranges, accounts.timezone) for draft in pending(session, accounts)]
    if not entries:
        return []
    session.add_all(entries)
    session.flush()
    moved = [e.id for e in entries if e.journal_date != e.occurred_on]
    audit.record(
        session,
        actor,
        audit.AuditAction.GL_POSTED,
        "gl_journal",
        f"{min(e.journal_date for e in entries)}..{max(e.journal_date for e in entries)}",
        {
            "entries": len(entries),
            "to_next_open_day": moved,
            "debits": sum(line.debit for e in entries for line in e.lines),
        },
    )
    return entries


def entries_between(session: Session, first: dt.date, last: dt.date) -> list[GlEntry]:
    return list(
        session.scalars(
            select(GlEntry)
            .where(GlEntry.journal_date >= first, GlEntry.journal_date <= last)
            .options(selectinload(GlEntry.lines))
            .order_by(GlEntry.journal_date, GlEntry.id)
        )
    )


def preview(session: Session, accounts: Accounts, first: dt.date, last: dt.date) -> list[GlEntry]:
    """The journal of the days as it stands: written entries and, unsaved, pending ones."""
    ranges = closed_ranges(session)
    drafts = [_entry(d, ranges, accounts.timezone) for d in pending(session, accounts)]
    with session.no_autoflush:
        shown = entries_between(session, first, last) + [
            e for e in drafts if first <= e.journal_date <= last
        ]
    return shown


def check_balanced(entries: Sequence[GlEntry]) -> tuple[int, int]:
    """Total debits and credits; refuses when any entry, or any day and department, does
    not balance."""
    by_day_department: dict[tuple[dt.date, int | None], int] = defaultdict(int)
    for entry in entries:
        if sum(ln.debit for ln in entry.lines) != sum(ln.credit for ln in entry.lines):
            raise JournalError(
                "unbalanced", N_("Entry %(reference)s does not balance."), reference=entry.reference
            )
        for line in entry.lines:
            by_day_department[(entry.journal_date, line.department_id)] += line.debit - line.credit
    if any(by_day_department.values()):
        raise JournalError("unbalanced", N_("A day's department does not balance."))
    debits = sum(ln.debit for e in entries for ln in e.lines)
    return debits, sum(ln.credit for e in entries for ln in e.lines)


def _department_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.code)).all())


def export(
    session: Session,
    accounts: Accounts,
    staff: StaffUser,
    actor: Actor,
    first: dt.date,
    last: dt.date,
) -> GlExport:
    """Export the days `first`..`last` and close them. Exporting the same period again
    gives the stored export; a period overlapping an exported one, or not over yet, is
    refused."""
    if first > last:
        raise JournalError("range", N_("The first day must not be after the last day."))
    _lock(session)
    found = session.scalars(
        select(GlExport).where(GlExport.first_day == first, GlExport.last_day == last)
    ).one_or_none()
    if found is not None:
        return found
    today = local_day(utcnow(), accounts.timezone)
    if last >= today:
        raise JournalError("not_over", N_("Only days that are over can be exported."))
    for done_first, done_last in closed_ranges(session):
        if done_first <= last and first <= done_last:
            raise JournalError(
                "closed",
                N_("%(first)s to %(last)s were exported already; export other days."),
                first=done_first.isoformat(),
                last=done_last.isoformat(),
            )
    post_pending(session, accounts, actor)
    entries = entries_between(session, first, last)
    debits, credits = check_balanced(entries)
    codes = _department_codes(session)
    csv_bytes = export_files.render_csv(entries, codes, accounts.currency)
    try:
        fixed_bytes = export_files.render_fixed(entries, codes, accounts.currency, first, last)
    except export_files.TooLong as long:
        raise JournalError(
            "too_long",
            N_("%(value)s is too long for the fixed-column file (%(width)s characters)."),
            value=long.value,
            width=long.width,
        ) from None
    done = GlExport(
        first_day=first,
        last_day=last,
        csv_bytes=csv_bytes,
        fixed_bytes=fixed_bytes,
        sha256=hashlib.sha256(csv_bytes + fixed_bytes).hexdigest(),
        debits=debits,
        credits=credits,
        exported_by_id=staff.id,
        exported_at=utcnow(),
    )
    session.add(done)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.GL_EXPORTED,
        "gl_export",
        done.id,
        {
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "entries": len(entries),
            "debits": debits,
            "credits": credits,
            "sha256": done.sha256,
        },
    )
    return done


# -- the trail -------------------------------------------------------------------------


def entries_for_payment(session: Session, payment: Payment) -> list[GlEntry]:
    """The payment's own entry and those of its corrections."""
    corrections = select(Correction.id).where(Correction.payment_id == payment.id)
    return list(
        session.scalars(
            select(GlEntry)
            .where(
                ((GlEntry.source == GlSource.PAYMENT) & (GlEntry.source_id == payment.id))
                | ((GlEntry.source == GlSource.CORRECTION) & GlEntry.source_id.in_(corrections))
            )
            .options(selectinload(GlEntry.lines))
            .order_by(GlEntry.id)
        )
    )


def payments_behind(session: Session, source: GlSource, source_id: int) -> list[Payment]:
    """The payments behind an entry: its payment, its correction's payment, the payments
    of the drawer it balances, or of the card batch whose fees it books."""
    if source is GlSource.PAYMENT:
        where = Payment.id == source_id
    elif source is GlSource.CORRECTION:
        where = Payment.id.in_(select(Correction.payment_id).where(Correction.id == source_id))
    elif source is GlSource.OVER_SHORT:
        where = Payment.drawer_session_id == source_id
    else:
        where = Payment.settlement_batch.in_(
            select(SettlementBatchRecord.batch_id).where(SettlementBatchRecord.id == source_id)
        )
    return list(session.scalars(select(Payment).where(where).order_by(Payment.id)))
