"""The customer view (360°): profile, accounts and balances per department, open invoices,
payments (paged), receipts and flags. Department-limited staff see only their departments.

Interactions, notes and the counter payment button belong to the counter work: the page
includes `staff/customer/_counter_panel.html` when it exists."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.balance_sources.refreshing import Refreshed, Refresher
from shared.customers import balances
from shared.customers.search import Cursor
from shared.customers.visibility import Visible, in_department, known_in, within
from shared.exceptions import queue
from shared.i18n import gettext_ as _
from shared.messaging import write_back
from shared.models import (
    Account,
    AccountStatus,
    Allocation,
    Customer,
    Department,
    FeeType,
    Invoice,
    InvoiceStatus,
    Payment,
    Receipt,
)
from shared.payments import duplicates as duplicates_rule
from shared.payments.states import IN_DOUBT
from shared.terminals import registry as terminal_registry
from shared.web.endpoint import fragment_or_page, page, writes_on_get
from staff.access import StaffContext, requires
from staff.payment_views import display
from staff.templating import NO_STORE, templates
from staff.web import id_from, redirect_to, settings_of

PAYMENTS_PAGE = 20
RECEIPTS_SHOWN = 20
INVOICES_SHOWN = 50
# How far back the duplicate check looks: bounded, so a long history is never read whole.
DUPLICATE_WINDOW_PAYMENTS = 200


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One account's balance in its two parts: what its open bills owe, less its credit."""

    account: Account
    bills: int
    credit: int

    @property
    def balance(self) -> int:
        return self.bills - self.credit


@dataclass(frozen=True, slots=True)
class DepartmentBalance:
    department: Department
    accounts: list[AccountBalance]
    total: int


@dataclass(frozen=True, slots=True)
class InDoubt:
    """A card payment still being confirmed, and when the processor is asked again."""

    payment: Payment
    next_check: dt.datetime


@dataclass(frozen=True, slots=True)
class Duplicate:
    first: Payment
    second: Payment
    account: Account


def sees_customer(db: Session, visible: Visible, customer_id: int) -> bool:
    """Whether someone who may find `visible` may see the customer: anyone, unless limited
    to departments; then only one with an account in one of them."""
    departments = visible.customers
    return departments is None or bool(db.scalar(select(known_in(customer_id, departments))))


def visible_customer(request: Request, db: Session) -> Customer:
    """The customer of the path, or 404. Staff limited to departments see only customers
    with an account in one of them: to them anyone else is as unknown as a wrong number."""
    customer = db.get(Customer, request.path_params["customer_id"])
    staff: StaffContext = request.state.staff
    if customer is None or not sees_customer(db, staff.visible(), customer.id):
        raise HTTPException(404)
    return customer


def _payments_of(customer_id: int, departments: frozenset[int] | None) -> Select[Any]:
    statement = select(Payment).where(Payment.customer_id == customer_id)
    if departments is not None:
        statement = statement.where(in_department(departments))
    return statement.order_by(Payment.created_at.desc(), Payment.id.desc())


def _payment_page(
    db: Session, customer_id: int, departments: frozenset[int] | None, cursor: Cursor | None
) -> tuple[list[tuple[Payment, str | None]], Cursor | None]:
    statement = _payments_of(customer_id, departments)
    if cursor is not None:
        statement = statement.where(cursor.older(Payment.created_at, Payment.id))
    found = list(db.scalars(statement.limit(PAYMENTS_PAGE + 1)))
    shown = found[:PAYMENTS_PAGE]
    numbers: dict[int, str] = {
        payment_id: number
        for payment_id, number in db.execute(
            select(Receipt.payment_id, Receipt.receipt_number).where(
                Receipt.payment_id.in_([p.id for p in shown])
            )
        )
    }
    rows = [(p, numbers.get(p.id)) for p in shown]
    more = len(found) > PAYMENTS_PAGE and shown
    return rows, Cursor(shown[-1].created_at, shown[-1].id) if more else None


def duplicates(
    db: Session, customer_id: int, departments: frozenset[int] | None
) -> list[Duplicate]:
    """Two payments of the same amount to the same account within ten minutes, among the
    customer's latest payments."""
    recent = _payments_of(customer_id, departments).limit(DUPLICATE_WINDOW_PAYMENTS).subquery()
    rows = db.execute(
        select(Payment, Account)
        .join(recent, recent.c.id == Payment.id)
        .join(Allocation, Allocation.payment_id == Payment.id)
        .join(Account, Allocation.account_id == Account.id)
        .where(Payment.status.not_in(duplicates_rule.NOT_TAKEN))
        .order_by(Payment.created_at, Payment.id)
    ).all()
    last: dict[tuple[int, int], Payment] = {}
    found: list[Duplicate] = []
    for payment, account in rows:
        key = (account.id, payment.amount)
        before = last.get(key)
        if (
            before is not None
            and before.id != payment.id
            and payment.created_at - before.created_at <= duplicates_rule.WITHIN
        ):
            found.append(Duplicate(before, payment, account))
        last[key] = payment
    return found


def _invoice_cursor(text: str) -> tuple[dt.date, int] | None:
    """`2026-12-01.123` (due date, id of the last bill shown); None for anything else."""
    due, _, ident = text.partition(".")
    last_id = id_from(ident)
    if last_id is None:
        return None
    try:
        return dt.date.fromisoformat(due), last_id
    except ValueError:
        return None


def _open_invoices(
    db: Session,
    customer_id: int,
    departments: frozenset[int] | None,
    after: tuple[dt.date, int] | None,
) -> list[tuple[Invoice, Account, FeeType]]:
    """A page of open bills, soonest due first (one more than shown: is there a next?)."""
    statement = (
        select(Invoice, Account, FeeType)
        .join(Account, Invoice.account_id == Account.id)
        .join(FeeType, Invoice.fee_type_id == FeeType.id)
        .where(
            Account.customer_id == customer_id,
            Invoice.status == InvoiceStatus.OPEN,
            *within(Account.department_id, departments),
        )
        .order_by(Invoice.due_date, Invoice.id)
    )
    if after is not None:
        due, ident = after
        statement = statement.where(
            or_(Invoice.due_date > due, and_(Invoice.due_date == due, Invoice.id > ident))
        )
    return [(i, a, f) for i, a, f in db.execute(statement.limit(INVOICES_SHOWN + 1))]


def _more_invoices(rows: list[tuple[Invoice, Account, FeeType]]) -> str | None:
    """The query string of the next page of open bills, or None on the last."""
    if len(rows) <= INVOICES_SHOWN:
        return None
    last = rows[INVOICES_SHOWN - 1][0]
    return str(QueryParams({"invoices_after": f"{last.due_date.isoformat()}.{last.id}"}))


def _balances(db: Session, accounts: list[Account]) -> list[DepartmentBalance]:
    """Each account's balance (its stored balance, as of its last refresh) with its credit
    shown apart: balance = open bills − credit."""
    credit = balances.open_credits(db, [a.id for a in accounts])
    by_department: dict[int, list[AccountBalance]] = defaultdict(list)
    for account in accounts:
        held = credit.get(account.id, 0)
        by_department[account.department_id].append(
            AccountBalance(account, account.balance + held, held)
        )
    return [
        DepartmentBalance(group[0].account.department, group, sum(a.balance for a in group))
        for group in sorted(by_department.values(), key=lambda g: g[0].account.department.name)
    ]


def in_doubt(
    db: Session, customer_id: int, departments: frozenset[int] | None, recheck: dt.timedelta
) -> list[InDoubt]:
    """The customer's card payments still being confirmed, oldest first."""
    found = db.scalars(
        _payments_of(customer_id, departments)
        .where(Payment.status.in_(IN_DOUBT))
        .limit(DUPLICATE_WINDOW_PAYMENTS)
    )
    return sorted(
        (InDoubt(p, p.updated_at + recheck) for p in found), key=lambda d: d.payment.created_at
    )


@page
@requires("balances:refresh")
def refresh_balances(request: Request, db: Session) -> Response:
    """Re-read the balances of the accounts this member of staff may see (audited; a
    credit is never erased: `shared.customers.balances`)."""
    customer = visible_customer(request, db)
    departments = request.state.staff.permissions.departments_for("customers:view")
    accounts = list(
        db.scalars(
            select(Account).where(
                Account.customer_id == customer.id, *within(Account.department_id, departments)
            )
        )
    )
    actor = request.state.staff.actor
    # Accounts whose system Paydesk pulls from are asked now; the others are recomputed.
    pulled = refresher_of(request).refresh(db, accounts, actor, force=True)
    balances.refresh(db, [a for a in accounts if a.id not in pulled.accounts], actor)
    if pulled.failed():
        request.session["staff_customer_notice"] = _(
            "Some accounts could not be refreshed from their billing system: their last "
            "known balance is shown, with its time."
        )
    return redirect_to(request, "staff:customer", customer_id=customer.id)


def refresher_of(request: Request) -> Refresher:
    refresher: Refresher = request.app.state.runtime.balance_sources
    return refresher


@page
@requires("customers:view")
@writes_on_get
def customer_view(request: Request, db: Session) -> Response:
    """The customer view. Its GET writes: accounts of systems Paydesk pulls from whose
    data is older than the setting are refreshed first (and committed), never waiting
    longer than the slowest system's timeout."""
    customer = visible_customer(request, db)
    staff: StaffContext = request.state.staff
    departments = staff.permissions.departments_for("customers:view")
    accounts = list(
        db.scalars(
            select(Account)
            .join(Department, Account.department_id == Department.id)
            .where(Account.customer_id == customer.id, *within(Account.department_id, departments))
            .order_by(Department.name, Account.account_number)
        )
    )
    pulled: Refreshed = refresher_of(request).refresh(db, accounts, staff.actor)
    db.commit()
    invoices_from = _invoice_cursor(request.query_params.get("invoices_after", ""))
    invoices = _open_invoices(db, customer.id, departments, invoices_from)
    raw_cursor = request.query_params.get("payments_after", "")
    cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    may_see_payments = staff.can("payments:view")
    payment_departments = staff.permissions.departments_for("payments:view")
    if departments is not None:
        # Payments of the accounts shown only; none at all without payments:view (empty).
        payment_departments = (
            departments if payment_departments is None else payment_departments & departments
        )
    payments, next_cursor = (
        _payment_page(db, customer.id, payment_departments, cursor)
        if may_see_payments
        else ([], None)
    )
    receipts = (
        db.execute(
            select(Receipt, Payment)
            .join(Payment, Receipt.payment_id == Payment.id)
            .where(
                Payment.id.in_(
                    _payments_of(customer.id, payment_departments)
                    .with_only_columns(Payment.id)
                    .limit(RECEIPTS_SHOWN)
                    .scalar_subquery()
                )
            )
            .order_by(Receipt.issued_at.desc(), Receipt.id.desc())
        ).all()
        if may_see_payments
        else []
    )
    # A write-back names a payment (its transaction ID and amount): only for someone who
    # may see that account's payments.
    paid_into = [
        a.id
        for a in accounts
        if payment_departments is None or a.department_id in payment_departments
    ]
    on_hold = [a for a in accounts if a.status in (AccountStatus.HOLD, AccountStatus.COLLECTIONS)]
    shown_balances = _balances(db, accounts)
    context: dict[str, Any] = {
        **display(request),
        "customer": customer,
        "customer_id": customer.id,
        "currency": settings_of(request).currency,
        "balances": shown_balances,
        "credits": [row for group in shown_balances for row in group.accounts if row.credit],
        "may_work_exceptions": staff.can("exceptions:work"),
        "may_refresh": staff.can("balances:refresh"),
        "may_adjust": staff.can("adjustments:request"),
        "cases": queue.open_for_customer(db, customer.id)
        if staff.can("exceptions:work") or may_see_payments
        else [],
        "customer_notice": request.session.pop("staff_customer_notice", None),
        "in_doubt": in_doubt(
            db,
            customer.id,
            payment_departments,
            dt.timedelta(seconds=settings_of(request).recovery_after_seconds),
        )
        if may_see_payments
        else [],
        "as_of": max((a.balance_as_of for a in accounts if a.balance_as_of), default=None),
        "invoices": invoices[:INVOICES_SHOWN],
        "more_invoices": _more_invoices(invoices),
        "invoices_paged": invoices_from is not None,
        "may_see_payments": may_see_payments,
        "payments": payments,
        # Kiosk and counter payments name their terminal.
        "terminal_codes": terminal_registry.codes(db) if may_see_payments else {},
        "more_payments": str(QueryParams({"payments_after": next_cursor.encode()}))
        if next_cursor
        else None,
        "paged": cursor is not None,
        "receipts": receipts,
        "duplicates": duplicates(db, customer.id, payment_departments) if may_see_payments else [],
        "on_hold": on_hold,
        "write_backs": write_back.pending_for(db, paid_into) if may_see_payments else [],
        "freshness": pulled.accounts,
        "limited": departments is not None,
    }
    return fragment_or_page(
        request,
        templates,
        "staff/customer/view.html",
        "payments",
        context,
        headers=NO_STORE,
    )
