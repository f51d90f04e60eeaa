"""The exceptions queue as staff work it: filtered, oldest first, a page at a time.

Department limits are the caller's: it passes the conditions that keep a limited member
of staff to their departments (`shared.customers.visibility`), joined on the payment and
the account the case is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from shared.db import utcnow
from shared.models import (
    Account,
    Allocation,
    Customer,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    Payment,
    StaffUser,
)

PAGE = 50
ASSIGNEE = aliased(StaffUser)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the queue shows: by default every open case."""

    kind: ExceptionKind | None = None
    status: ExceptionStatus | None = ExceptionStatus.OPEN
    older_than: dt.timedelta | None = None
    department_id: int | None = None
    customer_id: int | None = None
    # "me": my cases; "nobody": unclaimed ones; None: anyone's.
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    case: ExceptionCase
    transaction_id: str | None
    customer_name: str | None
    account_number: str | None
    assignee: str | None


_Queue = Select[ExceptionCase, str, str, str, str]


def statement(filters: Filters, me: int, visible: Sequence[ColumnElement[bool]]) -> _Queue:
    """The cases `filters` choose, with what the queue shows of each, oldest first."""
    query: _Queue = (
        select(
            ExceptionCase,
            Payment.transaction_id,
            Customer.name,
            Account.account_number,
            ASSIGNEE.display_name,
        )
        .outerjoin(Payment, ExceptionCase.payment_id == Payment.id)
        .outerjoin(Customer, ExceptionCase.customer_id == Customer.id)
        .outerjoin(Account, ExceptionCase.account_id == Account.id)
        .outerjoin(ASSIGNEE, ExceptionCase.assignee_id == ASSIGNEE.id)
        .where(*visible)
        .order_by(ExceptionCase.opened_at, ExceptionCase.id)
    )
    if filters.kind is not None:
        query = query.where(ExceptionCase.kind == filters.kind)
    if filters.status is not None:
        query = query.where(ExceptionCase.status == filters.status)
    if filters.older_than is not None:
        query = query.where(ExceptionCase.opened_at <= utcnow() - filters.older_than)
    if filters.customer_id is not None:
        query = query.where(ExceptionCase.customer_id == filters.customer_id)
    if filters.assignee == "me":
        query = query.where(ExceptionCase.assignee_id == me)
    elif filters.assignee == "nobody":
        query = query.where(ExceptionCase.assignee_id.is_(None))
    if filters.department_id is not None:
        touches = select(Allocation.id).where(
            Allocation.payment_id == ExceptionCase.payment_id,
            Allocation.department_id == filters.department_id,
        )
        query = query.where(
            or_(
                touches.exists(),
                and_(
                    ExceptionCase.payment_id.is_(None),
                    Account.department_id == filters.department_id,
                ),
            )
        )
    return query


def page(
    session: Session,
    filters: Filters,
    me: int,
    visible: Sequence[ColumnElement[bool]] = (),
    offset: int = 0,
) -> tuple[list[Row], bool]:
    """One page of the queue, and whether there is another after it."""
    rows = session.execute(statement(filters, me, visible).offset(offset).limit(PAGE + 1)).all()
    return [Row(*row) for row in rows[:PAGE]], len(rows) > PAGE


def open_for_customer(session: Session, customer_id: int) -> list[ExceptionCase]:
    """The customer's open cases (the customer view lists them)."""
    return list(
        session.scalars(
            select(ExceptionCase)
            .where(
                ExceptionCase.customer_id == customer_id,
                ExceptionCase.status == ExceptionStatus.OPEN,
            )
            .order_by(ExceptionCase.opened_at)
            .limit(PAGE)
        )
    )


def open_for_payment(session: Session, payment: Payment) -> list[ExceptionCase]:
    """The payment's open cases (its page lists them), the first of a duplicate pair's too."""
    return list(
        session.scalars(
            select(ExceptionCase)
            .where(
                or_(
                    ExceptionCase.payment_id == payment.id,
                    ExceptionCase.subject.contains(payment.transaction_id, autoescape=True),
                ),
                ExceptionCase.status == ExceptionStatus.OPEN,
            )
            .order_by(ExceptionCase.opened_at)
        )
    )


def possible_duplicates(session: Session, transaction_ids: Sequence[str]) -> set[str]:
    """Which of these payments an open possible-duplicate case names (search marks them)."""
    if not transaction_ids:
        return set()
    subjects = session.scalars(
        select(ExceptionCase.subject).where(
            ExceptionCase.kind == ExceptionKind.POSSIBLE_DUPLICATE,
            ExceptionCase.status == ExceptionStatus.OPEN,
            or_(*(ExceptionCase.subject.contains(tx, autoescape=True) for tx in transaction_ids)),
        )
    )
    named = {tx for subject in subjects for tx in subject.split("/")}
    return named & set(transaction_ids)
