"""The support queue as staff work it: filtered, most urgent first, a page at a time, and
the counts the staff home page shows.

Department limits are the caller's: it passes `visible`, and a member of staff limited
to some departments sees requests filed under one of them, and those filed under none
(a general question nobody has placed yet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from shared.customers.visibility import Visible
from shared.db import utcnow
from shared.interactions import sla
from shared.models import (
    Customer,
    Interaction,
    InteractionChannel,
    InteractionLink,
    LinkKind,
    Payment,
    PaymentStatus,
    StaffUser,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)

PAGE = 50
ASSIGNEE = aliased(StaffUser)
# Most urgent first, then the oldest.
_PRIORITY_ORDER = case(
    {
        SupportPriority.URGENT.value: 0,
        SupportPriority.HIGH.value: 1,
        SupportPriority.NORMAL.value: 2,
        SupportPriority.LOW.value: 3,
    },
    value=SupportRequest.priority,
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the queue shows: by default every request still to be worked."""

    statuses: tuple[SupportStatus, ...] = sla.ACTIVE
    priority: SupportPriority | None = None
    channel: InteractionChannel | None = None
    department_id: int | None = None
    # "me": mine; "nobody": not taken; a staff user's id: theirs; None: anyone's.
    assignee: str | int | None = None
    # "at_risk" or "breached"
    sla: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    request: SupportRequest
    interaction: Interaction
    customer_name: str | None
    assignee: str | None
    # The payment it is about, and where that payment stands now.
    transaction_id: str | None = None
    payment_status: PaymentStatus | None = None


def visible_conditions(visible: Visible) -> list[ColumnElement[bool]]:
    if visible.customers is None:
        return []
    return [
        or_(
            SupportRequest.department_id.is_(None),
            SupportRequest.department_id.in_(visible.customers),
        )
    ]


_Queue = Select[SupportRequest, Interaction, str, str]


def statement(
    filters: Filters, me: int, visible: Visible, now: dt.datetime | None = None
) -> _Queue:
    now = now or utcnow()
    query: _Queue = (
        select(SupportRequest, Interaction, Customer.name, ASSIGNEE.display_name)
        .join(Interaction, Interaction.id == SupportRequest.interaction_id)
        .outerjoin(Customer, Customer.id == Interaction.customer_id)
        .outerjoin(ASSIGNEE, ASSIGNEE.id == Interaction.staff_user_id)
        .where(*visible_conditions(visible))
        .order_by(_PRIORITY_ORDER, SupportRequest.created_at, SupportRequest.id)
    )
    if filters.statuses:
        query = query.where(SupportRequest.status.in_(filters.statuses))
    if filters.priority is not None:
        query = query.where(SupportRequest.priority == filters.priority)
    if filters.channel is not None:
        query = query.where(Interaction.channel == filters.channel)
    if filters.department_id is not None:
        query = query.where(SupportRequest.department_id == filters.department_id)
    if filters.assignee == "me":
        query = query.where(Interaction.staff_user_id == me)
    elif filters.assignee == "nobody":
        query = query.where(Interaction.staff_user_id.is_(None))
    elif isinstance(filters.assignee, int):
        query = query.where(Interaction.staff_user_id == filters.assignee)
    if filters.sla == "breached":
        query = query.where(sla.breached(now))
    elif filters.sla == "at_risk":
        query = query.where(sla.at_risk(now))
    return query


def _payments(
    session: Session, interaction_ids: Sequence[int]
) -> dict[int, tuple[str, PaymentStatus]]:
    """Per interaction, the first payment it is linked to and its status now."""
    if not interaction_ids:
        return {}
    rows = session.execute(
        select(InteractionLink.interaction_id, Payment.transaction_id, Payment.status)
        .join(Payment, Payment.transaction_id == InteractionLink.reference)
        .where(
            InteractionLink.interaction_id.in_(interaction_ids),
            InteractionLink.kind == LinkKind.PAYMENT,
        )
        .order_by(InteractionLink.id)
    )
    found: dict[int, tuple[str, PaymentStatus]] = {}
    for interaction_id, transaction_id, status in rows:
        found.setdefault(interaction_id, (transaction_id, status))
    return found


def page(
    session: Session,
    filters: Filters,
    me: int,
    visible: Visible,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> tuple[list[Row], bool]:
    """One page of the queue, and whether there is another after it."""
    rows = session.execute(
        statement(filters, me, visible, now).offset(offset).limit(PAGE + 1)
    ).all()
    shown = rows[:PAGE]
    payments = _payments(session, [row[1].id for row in shown])
    return [
        Row(request, interaction, customer, assignee, *payments.get(interaction.id, (None, None)))
        for request, interaction, customer, assignee in shown
    ], len(rows) > PAGE


@dataclass(frozen=True, slots=True)
class Counts:
    new: int
    at_risk: int
    breached: int
    mine: int


def counts(session: Session, me: int, visible: Visible, now: dt.datetime | None = None) -> Counts:
    """What the staff home page shows of the queue, in one query."""
    now = now or utcnow()

    def total(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            total(SupportRequest.status == SupportStatus.NEW),
            total(sla.at_risk(now)),
            total(sla.breached(now)),
            total(Interaction.staff_user_id == me),
        )
        .join(Interaction, Interaction.id == SupportRequest.interaction_id)
        .where(SupportRequest.status.in_(sla.ACTIVE), *visible_conditions(visible))
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def earlier(session: Session, request: SupportRequest, limit: int = 10) -> list[SupportRequest]:
    """The customer's other requests, newest first (the request page lists them)."""
    customer_id = request.interaction.customer_id
    if customer_id is None:
        return []
    return list(
        session.scalars(
            select(SupportRequest)
            .join(Interaction, Interaction.id == SupportRequest.interaction_id)
            .where(Interaction.customer_id == customer_id, SupportRequest.id != request.id)
            .order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
            .limit(limit)
        )
    )
