"""The exceptions queue: what a person must look at, filtered, claimed, assigned and
resolved with an outcome. Department limits apply: a limited member of staff sees only
cases about payments and accounts of their departments."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session, aliased
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.card_numbers import scrub
from shared.customers.visibility import in_department
from shared.exceptions import cases, queue
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    Customer,
    Department,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    Payment,
    StaffUser,
)
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.payment_views import display
from staff.templating import render
from staff.web import form_text, id_from, redirect_to, settings_of

PERMISSION = "exceptions:work"
AGES = {"1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1), "7d": dt.timedelta(days=7)}
NOTE_LENGTH = 1000


def kind_names() -> dict[str, str]:
    return {
        ExceptionKind.POSSIBLE_DUPLICATE: _("Possible duplicate"),
        ExceptionKind.OVERPAYMENT: _("Overpayment (credit)"),
        ExceptionKind.LONG_UNKNOWN: _("Payment long in doubt"),
        ExceptionKind.SETTLEMENT_MISMATCH: _("Settlement mismatch"),
        ExceptionKind.WRITE_BACK_FAILING: _("Write-back failing"),
        ExceptionKind.REVERSAL: _("Reversal"),
        ExceptionKind.RECONCILIATION_BREAK: _("Reconciliation break"),
    }


def outcome_names() -> dict[str, str]:
    """Every outcome names what was done, or why nothing was needed."""
    return {
        "refund_requested": _("Refund requested"),
        "void_requested": _("Void requested"),
        "refunded": _("Refunded"),
        "voided": _("Voided"),
        "not_a_duplicate": _("Not a duplicate: the customer meant both payments"),
        "confirmed_with_processor": _("Confirmed with the card processor"),
        "settled_by_hand": _("Matched to the settlement by hand"),
        "source_system_updated": _("Source system updated another way"),
        "no_action_needed": _("No action needed"),
    }


def describe(case: ExceptionCase) -> str:
    """The case in a sentence an agent can read out."""
    # Details are JSON written by the code that opened the case; a missing one reads empty.
    d: defaultdict[str, object] = defaultdict(str, case.details or {})
    if case.kind is ExceptionKind.POSSIBLE_DUPLICATE:
        return (
            _("%(first)s and %(second)s: the same amount to the same account within 10 minutes.")
            % d
        )
    if case.kind is ExceptionKind.OVERPAYMENT:
        return (
            _(
                "%(transaction_id)s paid more than bill %(invoice)s owed; the rest is a credit "
                "on the account."
            )
            % d
        )
    if case.kind is ExceptionKind.LONG_UNKNOWN:
        return _("The card processor has not confirmed this payment yet; it is still held.")
    if case.kind is ExceptionKind.WRITE_BACK_FAILING:
        return (
            _("%(system)s has not taken the news of this payment after %(attempts)s attempts.") % d
        )
    if case.kind is ExceptionKind.SETTLEMENT_MISMATCH:
        problems = {
            "unknown_payment": _(
                "Batch %(batch)s lists a payment we do not know (key %(our_key)s)."
            ),
            "amount_differs": _("Batch %(batch)s settles a different amount than we took."),
            "not_posted_here": _("Batch %(batch)s settles a payment that is %(status)s here."),
            "missing_from_report": _("Posted here, but missing from batch %(batch)s."),
        }
        text = problems.get(str(d["problem"]), _("Batch %(batch)s does not match."))
        return text % d
    if case.kind is ExceptionKind.RECONCILIATION_BREAK:
        if d["deposit_id"]:
            deposit = (
                _("Bag %(bag)s") % {"bag": d["reference"]}
                if d["deposit_kind"] == "counter"
                else _("Card batch deposit #%(id)s") % {"id": d["deposit_id"]}
            )
            return _("%(deposit)s of %(day)s is in no bank statement line.") % {
                "deposit": deposit,
                "day": d["day"],
            }
        return _("The bank line of %(day)s on statement %(statement)s matches no deposit.") % d
    return _("A payment was reversed (chargeback or returned cheque).")


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def visible_conditions(staff: StaffContext) -> list[ColumnElement[bool]]:
    """A limited member of staff sees cases about their departments' payments and accounts
    (the queue's statement joins Payment and Account)."""
    visible = staff.visible()
    conditions: list[ColumnElement[bool]] = []
    if visible.payments is not None:
        conditions.append(or_(ExceptionCase.payment_id.is_(None), in_department(visible.payments)))
    if visible.customers is not None:
        conditions.append(
            or_(ExceptionCase.account_id.is_(None), Account.department_id.in_(visible.customers))
        )
        # The customer's own accounts, apart from the one the queue joins for the case.
        held = aliased(Account)
        conditions.append(
            or_(
                ExceptionCase.customer_id.is_(None),
                exists().where(
                    held.customer_id == ExceptionCase.customer_id,
                    held.department_id.in_(visible.customers),
                ),
            )
        )
    return conditions


def _filters(params: QueryParams) -> tuple[queue.Filters, dict[str, str]]:
    chosen = {
        name: params.get(name, "")
        for name in ("kind", "status", "age", "department", "assignee", "customer")
    }
    kind = chosen["kind"] if chosen["kind"] in set(ExceptionKind) else ""
    status = chosen["status"] if chosen["status"] in {"open", "resolved", "all"} else "open"
    chosen |= {"kind": kind, "status": status}
    return (
        queue.Filters(
            kind=ExceptionKind(kind) if kind else None,
            status=None if status == "all" else ExceptionStatus(status),
            older_than=AGES.get(chosen["age"]),
            department_id=id_from(chosen["department"]),
            customer_id=id_from(chosen["customer"]),
            assignee=chosen["assignee"] if chosen["assignee"] in {"me", "nobody"} else None,
        ),
        chosen,
    )


@page
@requires(PERMISSION)
def exceptions(request: Request, db: Session) -> Response:
    staff = _staff(request)
    filters, chosen = _filters(request.query_params)
    offset = id_from(request.query_params.get("offset", "")) or 0
    rows, more = queue.page(db, filters, staff.user.id, visible_conditions(staff), offset)
    context: dict[str, Any] = {
        **display(request),
        "rows": rows,
        "chosen": chosen,
        "kinds": kind_names(),
        "describe": describe,
        "departments": db.scalars(select(Department).order_by(Department.name)).all(),
        "next_offset": offset + queue.PAGE if more else None,
        "currency": settings_of(request).currency,
        "query": lambda **changes: str(QueryParams({**chosen, **changes})),
    }
    return render(request, "staff/exceptions/queue.html", context)


def visible_case(request: Request, db: Session) -> ExceptionCase:
    """The case of the path if this member of staff may see it, else 404."""
    case_id = request.path_params["case_id"]
    statement = queue.statement(
        queue.Filters(status=None), _staff(request).user.id, visible_conditions(_staff(request))
    ).where(ExceptionCase.id == case_id)
    row = db.execute(statement).first()
    if row is None:
        raise HTTPException(404)
    case: ExceptionCase = row[0]
    return case


@page
@requires(PERMISSION)
def exception_detail(request: Request, db: Session) -> Response:
    return _detail_page(request, db, visible_case(request, db))


def _detail_page(request: Request, db: Session, case: ExceptionCase, **extra: Any) -> Response:
    payment = db.get(Payment, case.payment_id) if case.payment_id else None
    customer = db.get(Customer, case.customer_id) if case.customer_id else None
    workers = [
        user
        for user in db.scalars(
            select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.display_name)
        )
    ]
    context: dict[str, Any] = {
        **display(request),
        "case": case,
        "payment": payment,
        "customer": customer,
        "kinds": kind_names(),
        "outcomes": outcome_names(),
        # Reached on the reconciliation page, not chosen here.
        "matched_names": {
            "matched": _("Matched with the bank statement"),
            "matched_by_hand": _("Matched by hand on the reconciliation page"),
        },
        "description": describe(case),
        "workers": workers,
        "assignee": db.get(StaffUser, case.assignee_id) if case.assignee_id else None,
        "currency": settings_of(request).currency,
        "errors": {},
        "outcome": "",
        "note": "",
        **extra,
    }
    return render(
        request,
        "staff/exceptions/detail.html",
        context,
        status_code=422 if extra.get("errors") else 200,
    )


@page
@requires(PERMISSION)
def exception_assign(request: Request, db: Session) -> Response:
    case = visible_case(request, db)
    staff = _staff(request)
    chosen = id_from(form_text(request, "assignee"))
    to = staff.user if chosen is None else db.get(StaffUser, chosen)
    if to is None or not to.active:
        raise HTTPException(404)
    try:
        cases.assign(db, case, to, staff.actor)
    except cases.CaseError as error:
        return _detail_page(request, db, case, errors={"assign": str(error)})
    return redirect_to(request, "staff:exception", case_id=case.id)


@page
@requires(PERMISSION)
def exception_resolve(request: Request, db: Session) -> Response:
    case = visible_case(request, db)
    staff = _staff(request)
    outcome = form_text(request, "outcome")
    note = scrub(form_text(request, "note"))
    errors = {}
    if outcome not in outcome_names():
        errors["resolve-outcome"] = _("Choose what was done, or why nothing was needed.")
    if not note:
        errors["resolve-note"] = _("Say in a few words what you found.")
    elif len(note) > NOTE_LENGTH:
        errors["resolve-note"] = _("Keep the note under %(max)d characters.") % {"max": NOTE_LENGTH}
    if errors:
        return _detail_page(request, db, case, errors=errors, outcome=outcome, note=note)
    try:
        cases.resolve(db, case, outcome, note, staff.user, staff.actor)
    except cases.CaseError as error:
        return _detail_page(request, db, case, errors={"resolve-outcome": str(error)})
    return redirect_to(request, "staff:exception", case_id=case.id)
