"""The support queue: filters, the most urgent first, department limits, home counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.customers.visibility import EVERYTHING, Visible
from shared.interactions import queue, support, workflow
from shared.models import (
    InteractionChannel,
    PaymentStatus,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)
from tests import factories
from tests.shared.interactions.support_factories import NOW, request, staff

LATER = NOW + dt.timedelta(hours=1)


def _references(
    db: Session, filters: queue.Filters, me: int, visible: Visible = EVERYTHING
) -> list[str]:
    rows, _ = queue.page(db, filters, me, visible, now=LATER)
    return [row.request.reference for row in rows]


def _about_a_paid_bill(db: Session) -> tuple[support.About, int]:
    (bill,) = factories.bills(db, [2_500])
    outcome = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test"))
    about = support.about(db, "transaction", outcome.payment.transaction_id)
    assert about is not None
    return about, bill.account.department_id


def test_the_most_urgent_first_then_the_oldest(db: Session) -> None:
    me, _ = staff(db)
    low = request(db, priority=SupportPriority.LOW, now=NOW - dt.timedelta(hours=5))
    normal = request(db, priority=SupportPriority.NORMAL, now=NOW - dt.timedelta(hours=4))
    urgent = request(db, priority=SupportPriority.URGENT, now=NOW)
    older_normal = request(db, priority=SupportPriority.NORMAL, now=NOW - dt.timedelta(hours=6))
    assert _references(db, queue.Filters(), me.id) == [
        urgent.reference,
        older_normal.reference,
        normal.reference,
        low.reference,
    ]


def test_filters_by_status_priority_channel_and_assignee(db: Session) -> None:
    me, actor = staff(db)
    other, _ = staff(db, "other")
    web = request(db)
    kiosk = request(db, channel=InteractionChannel.KIOSK, priority=SupportPriority.HIGH)
    mine = request(db)
    theirs = request(db)
    done = request(db)
    workflow.assign(db, actor, mine, me, NOW)
    workflow.assign(db, actor, theirs, other, NOW)
    workflow.move(db, actor, done, SupportStatus.RESOLVED, NOW)
    every = queue.Filters()
    assert done.reference not in _references(db, every, me.id), "only what is still to do"
    assert _references(db, queue.Filters(statuses=(SupportStatus.RESOLVED,)), me.id) == [
        done.reference
    ]
    assert _references(db, queue.Filters(channel=InteractionChannel.KIOSK), me.id) == [
        kiosk.reference
    ]
    assert _references(db, queue.Filters(priority=SupportPriority.HIGH), me.id) == [kiosk.reference]
    assert _references(db, queue.Filters(assignee="me"), me.id) == [mine.reference]
    assert _references(db, queue.Filters(assignee=other.id), me.id) == [theirs.reference]
    assert set(_references(db, queue.Filters(assignee="nobody"), me.id)) == {
        web.reference,
        kiosk.reference,
    }


def test_filters_by_sla(db: Session) -> None:
    me, _ = staff(db)
    # At LATER: urgent (30 minutes to respond) is breached; high (an hour, at risk from
    # 45 minutes) is at risk; normal (4 hours) is on track.
    urgent = request(db, priority=SupportPriority.URGENT)
    high = request(db, priority=SupportPriority.HIGH, now=NOW + dt.timedelta(minutes=10))
    request(db, priority=SupportPriority.NORMAL)
    assert _references(db, queue.Filters(sla="breached"), me.id) == [urgent.reference]
    assert _references(db, queue.Filters(sla="at_risk"), me.id) == [high.reference]


def test_each_row_shows_the_payment_it_is_about_as_it_stands_now(db: Session) -> None:
    me, _ = staff(db)
    about, _ = _about_a_paid_bill(db)
    made = request(db, about=about)
    rows, more = queue.page(db, queue.Filters(), me.id, EVERYTHING, now=LATER)
    (row,) = [r for r in rows if r.request.id == made.id]
    assert (row.transaction_id, row.payment_status) == (about.reference, PaymentStatus.POSTED)
    assert row.customer_name == "Jane Smith"
    assert not more


def test_department_limits_keep_others_requests_out(db: Session) -> None:
    me, _ = staff(db)
    about, department_id = _about_a_paid_bill(db)
    theirs = request(db, about=about)
    general = request(db)  # filed under no department: the whole team sees it
    elsewhere = Visible(customers=frozenset({department_id + 1000}), payments=frozenset())
    there = Visible(customers=frozenset({department_id}), payments=frozenset({department_id}))
    assert _references(db, queue.Filters(), me.id, elsewhere) == [general.reference]
    assert set(_references(db, queue.Filters(), me.id, there)) == {
        theirs.reference,
        general.reference,
    }
    assert _references(db, queue.Filters(department_id=department_id), me.id) == [theirs.reference]
    counts = queue.counts(db, me.id, elsewhere, LATER)
    assert counts.new == 1


def test_counts_for_the_home_page(db: Session) -> None:
    me, actor = staff(db)
    request(db, priority=SupportPriority.URGENT)  # breached at LATER
    request(db, priority=SupportPriority.HIGH, now=NOW + dt.timedelta(minutes=10))  # at risk
    mine = request(db)
    workflow.assign(db, actor, mine, me, NOW)
    assert queue.counts(db, me.id, EVERYTHING, LATER) == queue.Counts(
        new=2, at_risk=1, breached=1, mine=1
    )


def test_earlier_requests_of_the_same_customer(db: Session) -> None:
    about, _ = _about_a_paid_bill(db)
    first = request(db, about=about, now=NOW - dt.timedelta(days=3))
    second = request(db, about=about)
    unrelated: SupportRequest = request(db)
    assert queue.earlier(db, second) == [first]
    assert queue.earlier(db, unrelated) == []
