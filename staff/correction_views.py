"""Asking for a refund, a void or a reversal from the payment page, and for an adjustment
from the customer view. Each request goes to the approvals queue (a cashier's own void
within minutes is carried out at once); the forms carry a key so a double submit asks once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from shared.approvals.requests import ApprovalError
from shared.card_numbers import scrub
from shared.customers.visibility import within
from shared.i18n import current_locale
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    FeeType,
    Invoice,
    Payment,
)
from shared.money import MoneyError, parse_money
from shared.payments import corrections, reopening
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.corrections_panel import reason_names
from staff.customer_views import visible_customer
from staff.payment_views import NOTICE, display, payment_for_staff, render_detail
from staff.templating import render
from staff.web import form_key, form_text, id_from, redirect_to, settings_of

COMMENT_LENGTH = 1000
# The adjustment form's fields.
FIELDS = ("account", "invoice", "fee_type", "direction", "amount", "reason", "comment", "key")


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def read_amount(request: Request, name: str) -> tuple[int | None, str | None]:
    """An amount typed the way the page's language writes numbers, more than zero."""
    text = form_text(request, name)
    try:
        amount = parse_money(text, settings_of(request).currency, current_locale.get())
    except MoneyError:
        return None, _("Enter the amount as a number, like 125.50.")
    if amount.minor <= 0:
        return None, _("Enter an amount more than zero.")
    return amount.minor, None


def _expires(request: Request) -> dt.timedelta:
    return dt.timedelta(hours=settings_of(request).approval_expires_hours)


def _reason(request: Request, prefix: str, errors: dict[str, str]) -> tuple[str, str]:
    reason_code, comment = form_text(request, "reason"), scrub(form_text(request, "comment"))
    if not reason_code:
        errors[f"{prefix}-reason"] = _("Choose a reason.")
    if not comment:
        errors[f"{prefix}-comment"] = _("Say in a few words why.")
    elif len(comment) > COMMENT_LENGTH:
        errors[f"{prefix}-comment"] = _("Keep the comment under %(max)d characters.") % {
            "max": COMMENT_LENGTH
        }
    return reason_code, comment


def _asked(request: Request, db: Session, payment: Payment, asked: ApprovalRequest) -> Response:
    if asked.status is ApprovalStatus.EXECUTED:
        message = _("Done: the payment is voided.")
    elif asked.status is ApprovalStatus.APPROVED:
        message = _("Approved; it could not be carried out yet: %(error)s") % {
            "error": asked.result.get("error", "")
        }
    else:
        message = _("Your request is waiting for a supervisor's approval.")
    request.session[NOTICE] = message
    return redirect_to(request, "staff:payment", transaction_id=payment.transaction_id)


def _refused(
    request: Request, db: Session, payment: Payment, field: str, error: ApprovalError
) -> Response:
    return render_detail(request, db, payment, errors={field: error.message})


@page
@requires("refunds:request")
def ask_refund(request: Request, db: Session) -> Response:
    payment = payment_for_staff(request, db, "refunds:request")
    staff = _staff(request)
    errors: dict[str, str] = {}
    amount, amount_error = read_amount(request, "amount")
    if amount_error:
        errors["refund-amount"] = amount_error
    reason_code, comment = _reason(request, "refund", errors)
    source = form_text(request, "source")
    lines: dict[int, int] | None = None
    if source == "bills" and amount is not None:
        lines = {}
        for part in reopening.still_paid(db, payment.id):
            typed = form_text(request, f"line-{part.invoice_id}")
            if typed:
                piece, error = read_amount(request, f"line-{part.invoice_id}")
                if error or piece is None:
                    errors[f"refund-line-{part.invoice_id}"] = error or ""
                else:
                    lines[part.invoice_id] = piece
    if errors:
        return render_detail(request, db, payment, errors=errors)
    assert amount is not None
    try:
        asked = corrections.ask_refund(
            db,
            payment,
            amount,
            lines=lines,
            from_credit=source == "credit",
            reason_code=reason_code,
            comment=comment,
            requester=staff.user,
            actor=staff.actor,
            key=form_key(request),
            expires_after=_expires(request),
            exception_id=id_from(form_text(request, "exception")),
        )
    except ApprovalError as error:
        field = "refund-amount" if error.code.startswith("exceeds") else "refund-reason"
        return _refused(request, db, payment, field, error)
    return _asked(request, db, payment, asked)


@page
@requires("voids:request")
def ask_void(request: Request, db: Session) -> Response:
    payment = payment_for_staff(request, db, "voids:request")
    staff = _staff(request)
    errors: dict[str, str] = {}
    reason_code, comment = _reason(request, "void", errors)
    if errors:
        return render_detail(request, db, payment, errors=errors)
    try:
        asked = corrections.ask_void(
            db,
            request.app.state.runtime.gateway,
            payment,
            reason_code=reason_code,
            comment=comment,
            requester=staff.user,
            actor=staff.actor,
            key=form_key(request),
            expires_after=_expires(request),
            self_void_within=dt.timedelta(minutes=settings_of(request).self_void_minutes),
            exception_id=id_from(form_text(request, "exception")),
        )
    except ApprovalError as error:
        return _refused(request, db, payment, "void-reason", error)
    return _asked(request, db, payment, asked)


@page
@requires("reversals:request")
def ask_reversal(request: Request, db: Session) -> Response:
    payment = payment_for_staff(request, db, "reversals:request")
    staff = _staff(request)
    errors: dict[str, str] = {}
    reason_code, comment = _reason(request, "reversal", errors)
    if errors:
        return render_detail(request, db, payment, errors=errors)
    try:
        asked = corrections.ask_reversal(
            db,
            payment,
            reason_code=reason_code,
            comment=comment,
            requester=staff.user,
            actor=staff.actor,
            key=form_key(request),
            expires_after=_expires(request),
        )
    except ApprovalError as error:
        return _refused(request, db, payment, "reversal-reason", error)
    return _asked(request, db, payment, asked)


# -- adjustments, from the customer view --------------------------------------------


def _adjustable_accounts(request: Request, db: Session, customer_id: int) -> list[Account]:
    departments = _staff(request).permissions.departments_for("adjustments:request")
    return list(
        db.scalars(
            select(Account)
            .where(Account.customer_id == customer_id, *within(Account.department_id, departments))
            .order_by(Account.account_number)
        )
    )


def _adjust_page(
    request: Request,
    db: Session,
    customer_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    accounts = _adjustable_accounts(request, db, customer_id)
    bills = (
        db.scalars(
            select(Invoice)
            .where(Invoice.account_id.in_([a.id for a in accounts]))
            .order_by(Invoice.due_date.desc())
            .limit(100)
        ).all()
        if accounts
        else []
    )
    context: dict[str, Any] = {
        **display(request),
        "customer_id": customer_id,
        "accounts": accounts,
        "bills": bills,
        "fee_types": db.scalars(select(FeeType).order_by(FeeType.name)).all(),
        "reasons": {
            code: name
            for code, name in reason_names().items()
            if code in corrections.REASONS[ApprovalAction.ADJUSTMENT]
        },
        "errors": errors or {},
        "values": values or {name: "" for name in FIELDS} | {"key": str(uuid.uuid4())},
        "currency": settings_of(request).currency,
    }
    return render(request, "staff/customer/adjust.html", context, status_code=status_code)


@page
@requires("adjustments:request")
def adjust(request: Request, db: Session) -> Response:
    customer = visible_customer(request, db)
    if request.method == "GET":
        return _adjust_page(request, db, customer.id)
    staff = _staff(request)
    values = {name: form_text(request, name) for name in FIELDS}
    errors: dict[str, str] = {}
    accounts = {a.id: a for a in _adjustable_accounts(request, db, customer.id)}
    account = accounts.get(id_from(values["account"]) or 0)
    if account is None:
        errors["adjust-account"] = _("Choose the account to adjust.")
    amount, amount_error = read_amount(request, "amount")
    if amount_error:
        errors["adjust-amount"] = amount_error
    reason_code, comment = _reason(request, "adjust", errors)
    invoice = db.get(Invoice, id_from(values["invoice"]) or 0) if values["invoice"] else None
    fee_type = db.get(FeeType, id_from(values["fee_type"]) or 0) if values["fee_type"] else None
    if errors or account is None or amount is None:
        return _adjust_page(request, db, customer.id, errors, values, 422)
    try:
        corrections.ask_adjustment(
            db,
            account,
            amount,
            direction=values["direction"],
            invoice=invoice,
            fee_type=fee_type,
            currency=settings_of(request).currency,
            locale=current_locale.get(),
            reason_code=reason_code,
            comment=comment,
            requester=staff.user,
            actor=staff.actor,
            key=form_key(request),
            expires_after=_expires(request),
        )
    except ApprovalError as error:
        errors["adjust-amount" if error.code == "exceeds" else "adjust-direction"] = error.message
        return _adjust_page(request, db, customer.id, errors, values, 422)
    request.session["staff_customer_notice"] = _(
        "Your adjustment request is waiting for a supervisor's approval."
    )
    return redirect_to(request, "staff:customer", customer_id=customer.id)
