"""Counter cash drawers: what goes into a drawer, the count, and the supervisor's approval
of an over/short past the tolerance, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.approvals import requests
from shared.approvals.requests import ApprovalError
from shared.finance import drawers
from shared.finance.drawers import DrawerError
from shared.models import (
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    DrawerStatus,
    Tender,
)
from tests.shared.finance.helpers import at_counter, card_posted, staff

TOLERANCE = 500
# $130 counted where $145 is expected.
SHORT_BY_15 = {"note-10000": 1, "note-2000": 1, "note-1000": 1}


def _open(db: Session, who: tuple, float_amount: int = 10_000):  # type: ignore[no-untyped-def]
    drawer = drawers.open_drawer(
        db, who[0], who[1], float_amount=float_amount, currency="CAD", key=str(uuid.uuid4())
    )
    db.commit()
    return drawer


def _count(
    db: Session, who: tuple, drawer_id: int, counts: dict[str, int], cheques: int, comment: str = ""
):  # type: ignore[no-untyped-def]
    return drawers.count(
        db,
        drawer_id,
        who[0],
        who[1],
        counts=counts,
        cheques=cheques,
        tolerance=TOLERANCE,
        comment=comment,
        key=str(uuid.uuid4()),
    )


def test_cash_and_cheques_taken_while_open_belong_to_the_drawer(db: Session) -> None:
    cashier, other = staff(db), staff(db, "other")
    drawer = _open(db, cashier)
    cash = at_counter(db, cashier[1], 4_500)
    cheque = at_counter(db, cashier[1], 12_000, Tender.CHEQUE)
    # Another cashier's cash, and a card payment, are in no drawer of hers.
    elsewhere = at_counter(db, other[1], 2_000)
    card = card_posted(db, 3_000)
    assert cash.drawer_session_id == cheque.drawer_session_id == drawer.id
    assert elsewhere.drawer_session_id is None and card.drawer_session_id is None
    due = drawers.expected(db, drawer)
    assert (due.cash, due.cheques) == (10_000 + 4_500, 12_000)
    assert [p.id for p in drawers.payments_of(db, drawer)] == [cash.id, cheque.id]


def test_a_count_within_the_tolerance_closes_the_drawer(db: Session) -> None:
    cashier = staff(db)
    drawer = _open(db, cashier)
    at_counter(db, cashier[1], 4_500)
    # $145 expected; counted $144.75 (a quarter short: within $5).
    counts = {"note-10000": 1, "note-2000": 2, "coin-200": 2, "coin-25": 3}
    counted = _count(db, cashier, drawer.id, counts, 0)
    db.commit()
    assert counted.status is DrawerStatus.CLOSED
    assert (counted.expected_cash, counted.counted_cash, counted.over_short) == (
        14_500,
        14_475,
        -25,
    )
    # Taken after the count: the drawer is closed, the payment goes into no drawer.
    assert at_counter(db, cashier[1], 1_000).drawer_session_id is None
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "drawer")))
    assert {"finance:drawer:opened", "finance:drawer:counted", "finance:drawer:closed"} <= actions


def test_a_shortage_past_the_tolerance_waits_for_a_supervisor(db: Session) -> None:
    cashier, supervisor = staff(db), staff(db, "supervisor")
    drawer = _open(db, cashier)
    at_counter(db, cashier[1], 4_500)
    with pytest.raises(DrawerError) as no_reason:
        _count(db, cashier, drawer.id, SHORT_BY_15, 0)
    assert no_reason.value.code == "comment"
    db.rollback()
    counted = _count(db, cashier, drawer.id, SHORT_BY_15, 0, "Miscounted change")
    db.commit()
    assert counted.status is DrawerStatus.AWAITING_APPROVAL and counted.over_short == -1_500
    approval = db.get(ApprovalRequest, counted.approval_id)
    assert approval is not None and approval.action is ApprovalAction.DRAWER
    assert approval.amount == -1_500 and approval.reason_code == "short"
    # The cashier cannot approve her own shortage.
    locked = requests.locked(db, approval.id)
    assert locked is not None
    with pytest.raises(ApprovalError):
        requests.decide(
            db,
            locked,
            cashier[0],
            cashier[1],
            approve=True,
            comment="",
            may_decide=True,
            second_factor=True,
        )
    requests.decide(
        db,
        locked,
        supervisor[0],
        supervisor[1],
        approve=True,
        comment="ok",
        may_decide=True,
        second_factor=True,
    )
    closed = drawers.carry_out(db, locked, supervisor[1])
    db.commit()
    assert closed is not None and closed.status is DrawerStatus.CLOSED
    assert locked.status is ApprovalStatus.EXECUTED


def test_a_rejected_count_is_counted_again(db: Session) -> None:
    cashier, supervisor = staff(db), staff(db, "supervisor")
    drawer = _open(db, cashier)
    _count(db, cashier, drawer.id, {"note-5000": 1}, 0, "Found extra")
    db.commit()
    # Awaiting: a second count is refused until someone decides.
    with pytest.raises(DrawerError):
        _count(db, cashier, drawer.id, {"note-10000": 1}, 0)
    db.rollback()
    approval = requests.locked(db, drawer.approval_id or 0)
    assert approval is not None
    requests.decide(
        db,
        approval,
        supervisor[0],
        supervisor[1],
        approve=False,
        comment="Count again",
        may_decide=True,
        second_factor=True,
    )
    db.commit()
    recounted = _count(db, cashier, drawer.id, {"note-10000": 1}, 0)
    db.commit()
    assert recounted.status is DrawerStatus.CLOSED and recounted.over_short == 0


def test_opening_is_idempotent_and_one_drawer_at_a_time(db: Session) -> None:
    cashier = staff(db)
    key = str(uuid.uuid4())
    first = drawers.open_drawer(
        db, cashier[0], cashier[1], float_amount=5_000, currency="CAD", key=key
    )
    again = drawers.open_drawer(
        db, cashier[0], cashier[1], float_amount=5_000, currency="CAD", key=key
    )
    assert first.id == again.id
    with pytest.raises(DrawerError) as second:
        drawers.open_drawer(
            db, cashier[0], cashier[1], float_amount=5_000, currency="CAD", key="k2"
        )
    assert second.value.code == "already_open"
    with pytest.raises(DrawerError) as penny:
        drawers.counted_cash("CAD", {"coin-1": 3})
    assert penny.value.code == "denomination"
    assert drawers.counted_cash("USD", {"coin-1": 3, "note-100": 2, "coin-100": 1}) == 303


def test_only_the_cashier_who_opened_a_drawer_counts_it(db: Session) -> None:
    cashier, other = staff(db), staff(db, "other")
    drawer = _open(db, cashier)
    with pytest.raises(DrawerError) as refused:
        _count(db, other, drawer.id, {}, 0)
    assert refused.value.code == "not_yours"


def test_while_a_count_waits_for_approval_a_new_drawer_takes_the_cash(db: Session) -> None:
    cashier = staff(db)
    first = _open(db, cashier)
    _count(db, cashier, first.id, {}, 0, "Float went missing")
    db.commit()
    assert first.status is DrawerStatus.AWAITING_APPROVAL
    # Taken while the first waits: no drawer, until the cashier opens the next one.
    assert at_counter(db, cashier[1], 1_000).drawer_session_id is None
    second = _open(db, cashier)
    assert at_counter(db, cashier[1], 2_000).drawer_session_id == second.id
    assert [d.id for d in drawers.unclosed(db, cashier[0].id)] == [second.id, first.id]
