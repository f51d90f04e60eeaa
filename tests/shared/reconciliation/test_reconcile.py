"""Importing statements and reconciling them with deposits, on both databases: nothing
half-imported, the same file twice changes nothing, matches by reference, amount and
groups, breaks once each after the window, and a match by hand that resolves its break."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import (
    AuditEvent,
    BankLine,
    BankStatement,
    Deposit,
    DepositKind,
    DepositMatch,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    MatchKind,
    SettlementBatchRecord,
)
from shared.reconciliation import book, matching
from shared.reconciliation.book import ReconcileError
from shared.reconciliation.statements import StatementFileError
from tests.shared.finance.helpers import staff
from tests.shared.reconciliation.samples import BAI2, CAMT053

DEC7 = dt.date(2026, 12, 7)


def deposit(db: Session, total: int, day: dt.date = DEC7, bag: str | None = None) -> Deposit:
    made = Deposit(
        kind=DepositKind.COUNTER,
        bag_number=bag,
        currency="CAD",
        business_date=day,
        cash=total,
        total=total,
        idempotency_key=str(uuid.uuid4()),
    )
    db.add(made)
    db.flush()
    return made


def card_batch(db: Session, batch_id: str, net: int, day: dt.date = DEC7) -> Deposit:
    made = Deposit(
        kind=DepositKind.CARD,
        currency="CAD",
        business_date=day,
        card_gross=net,
        total=net,
        idempotency_key=f"card-batch:{batch_id}",
    )
    db.add(made)
    db.flush()
    db.add(
        SettlementBatchRecord(
            batch_id=batch_id,
            closed_at=dt.datetime(2026, 12, 7, 22, tzinfo=dt.UTC),
            currency="CAD",
            sales=net,
            refunds=0,
            fees=0,
            net=net,
            deposit_id=made.id,
        )
    )
    db.flush()
    return made


def breaks(db: Session, status: ExceptionStatus = ExceptionStatus.OPEN) -> list[str]:
    return sorted(
        db.scalars(
            select(ExceptionCase.subject).where(
                ExceptionCase.kind == ExceptionKind.RECONCILIATION_BREAK,
                ExceptionCase.status == status,
            )
        )
    )


def test_import_twice_changes_nothing(db: Session) -> None:
    user, actor = staff(db, "finance")
    first = book.import_file(db, BAI2.encode(), "bank.bai", user, actor)
    db.commit()
    again = book.import_file(db, BAI2.encode(), "bank-again.bai", user, actor)
    db.commit()
    assert first.new and not again.new
    assert [s.id for s in again.statements] == [s.id for s in first.statements]
    assert db.scalar(select(func.count(BankStatement.id))) == 2
    assert db.scalar(select(func.count(BankLine.id))) == 4
    # The same statement in a file that differs (a trailing line) is not imported again.
    third = book.import_file(db, (BAI2 + "\n").encode(), "copy.bai", user, actor)
    assert not third.new
    assert db.scalar(select(func.count(BankLine.id))) == 4


def test_malformed_file_leaves_nothing(db: Session) -> None:
    user, actor = staff(db, "finance")
    with pytest.raises(StatementFileError):
        book.import_file(
            db, BAI2.replace("99,351000,1,14/", "99,351000,1,15/").encode(), "x", user, actor
        )
    assert db.scalar(select(func.count(BankStatement.id))) == 0
    assert db.scalar(select(func.count(BankLine.id))) == 0


def test_reconcile_by_reference_amount_and_breaks_once(db: Session) -> None:
    user, actor = staff(db, "finance")
    bag = deposit(db, 12500, bag="BAG-1001")
    decoy = deposit(db, 12500, bag="BAG-0999")  # same amount, but the line names BAG-1001
    batch = card_batch(db, "B-20261207-1", 48000)
    lost = deposit(db, 7777, bag="BAG-1002")  # never credited
    book.import_file(db, CAMT053.encode(), "camt.xml", user, actor)
    outcome = book.reconcile(db, 3, dt.date(2026, 12, 9), actor)
    db.commit()
    assert outcome.matched == 2
    (bag_line,) = book.line_of(db, bag)
    assert bag_line.customer_reference == "BAG-1001"
    assert book.deposits_of(db, bag_line) == [bag]
    (batch_line,) = book.line_of(db, batch)
    assert batch_line.amount == 48000
    # Within the window nothing is a break yet; past it, each unmatched item is, once.
    assert breaks(db) == []
    later = book.reconcile(db, 3, dt.date(2026, 12, 20), actor)
    again = book.reconcile(db, 3, dt.date(2026, 12, 21), actor)
    db.commit()
    fee = db.scalars(select(BankLine).where(BankLine.amount == -2000)).one()
    assert breaks(db) == sorted(
        [f"deposit:{decoy.id}", f"deposit:{lost.id}", f"bank-line:{fee.id}"]
    )
    assert (later.breaks_opened, again.breaks_opened) == (3, 0)


def test_match_by_hand_resolves_the_break_and_is_audited(db: Session) -> None:
    user, actor = staff(db, "finance")
    lost = deposit(db, 2000, day=dt.date(2026, 12, 1), bag="BAG-7")
    book.import_file(db, CAMT053.encode(), "camt.xml", user, actor)
    book.reconcile(db, 3, dt.date(2026, 12, 20), actor)
    db.commit()
    fee = db.scalars(select(BankLine).where(BankLine.amount == -2000)).one()
    assert f"deposit:{lost.id}" in breaks(db)
    with pytest.raises(ReconcileError):
        book.match_by_hand(db, [lost.id], [fee.id], "  ", user, actor)
    match = book.match_by_hand(
        db, [], [fee.id], "Monthly service charge, booked to bank fees", user, actor
    )
    db.commit()
    assert match.kind is MatchKind.MANUAL
    assert f"bank-line:{fee.id}" in breaks(db, ExceptionStatus.RESOLVED)
    assert f"bank-line:{fee.id}" not in breaks(db)
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance:reconciliation:matched_by_hand")
    ).one()
    assert event.reason == "Monthly service charge, booked to bank fees"
    with pytest.raises(ReconcileError):
        book.match_by_hand(db, [], [fee.id], "again", user, actor)


def test_several_deposits_in_one_credit_and_one_deposit_in_several(db: Session) -> None:
    user, actor = staff(db, "finance")
    day = dt.date(2026, 12, 7)
    bags = [deposit(db, 10000, day), deposit(db, 2500, day)]  # credited together: 125.00
    book.import_file(db, CAMT053.encode(), "camt.xml", user, actor)
    split = deposit(db, 46000, dt.date(2026, 12, 8))  # paid as 480.00 - 20.00 on the 8th
    book.reconcile(db, 3, dt.date(2026, 12, 9), actor)
    db.commit()
    (line,) = book.line_of(db, bags[0])
    assert book.deposits_of(db, line) == bags
    assert sorted(x.amount for x in book.line_of(db, split)) == [-2000, 48000]
    assert db.scalar(select(func.count(DepositMatch.deposit_id))) == 3


def test_negative_card_batch_matches_a_debit(db: Session) -> None:
    user, actor = staff(db, "finance")
    refund_day = card_batch(db, "B-20261207-9", -2000, dt.date(2026, 12, 8))
    book.import_file(db, CAMT053.encode(), "camt.xml", user, actor)
    book.reconcile(db, 3, dt.date(2026, 12, 9), actor)
    (line,) = book.line_of(db, refund_day)
    assert line.amount == -2000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-5000, 50000), st.integers(0, 20), st.integers(0, 3)),
        max_size=40,
    ),
    st.integers(0, 5),
)
def test_matching_pairs_each_item_once_and_within_the_window(
    pairs: list[tuple[int, int, int]], window: int
) -> None:
    base = dt.date(2026, 1, 1)
    deposits = [
        matching.Item(i, base + dt.timedelta(days=d), amount, (f"BAG-{i}",), "counter")
        for i, (amount, d, _) in enumerate(pairs)
    ]
    lines = [
        matching.Item(
            1000 + i,
            base + dt.timedelta(days=d + lag),
            amount,
            (f"BAG-{i}",) if i % 2 else (),
        )
        for i, (amount, d, lag) in enumerate(pairs)
    ]
    found = matching.match(deposits, lines, window)
    by_id = {x.id: x for x in deposits + lines}
    seen: list[int] = [i for f in found for i in f.deposit_ids + f.line_ids]
    assert len(seen) == len(set(seen))
    for f in found:
        # What a match pairs adds up, and no line is booked before its deposit's day.
        assert sum(by_id[i].amount for i in f.deposit_ids) == sum(
            by_id[i].amount for i in f.line_ids
        )
        for d in f.deposit_ids:
            for x in f.line_ids:
                assert by_id[d].day <= by_id[x].day <= by_id[d].day + dt.timedelta(days=window)
    # With amounts told apart, every line that lagged within the window found its deposit.
    if all(lag <= window for _, _, lag in pairs) and len({a for a, _, _ in pairs}) == len(pairs):
        assert len({i for f in found for i in f.line_ids}) == len(lines)
