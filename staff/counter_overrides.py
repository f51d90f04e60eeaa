"""Overrides at the counter: a bill held by a card payment in doubt, or an account on hold
or closed, can be paid at the counter once a supervisor approves an override that the
cashier asked for. The approved override is offered on the pay form and used up by the
payment it lets through."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from shared.approvals.requests import ApprovalError
from shared.card_numbers import scrub
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    AccountStatus,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    Invoice,
    InvoiceStatus,
    StaffUser,
)
from shared.payments import corrections, holds
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.corrections_panel import reason_names
from staff.customer_views import visible_customer
from staff.web import form_key, form_text, form_values, id_from, redirect_to, settings_of

if TYPE_CHECKING:
    from staff.counter_views import Bill

NOTICE = "staff_counter_notice"


def _gated(bills: list[Bill]) -> list[Bill]:
    """Bills the counter may not take without an override: held, or on an account that
    is on hold or closed."""
    blocked = (AccountStatus.HOLD, AccountStatus.CLOSED)
    return [b for b in bills if b.held_notice or b.invoice.account.status in blocked]


def _gated_numbers(db: Session, customer_id: int) -> set[str]:
    """The customer's open bills an override could be for: held, or on a blocked account
    (what was ticked is checked against them: nothing else is ever kept in a request)."""
    rows = db.execute(
        select(Invoice.id, Invoice.invoice_number, Account.status)
        .join(Account, Account.id == Invoice.account_id)
        .where(Account.customer_id == customer_id, Invoice.status == InvoiceStatus.OPEN)
    ).all()
    held = holds.held_on(db, [invoice_id for invoice_id, _n, _s in rows])
    blocked = (AccountStatus.HOLD, AccountStatus.CLOSED)
    return {n for invoice_id, n, status in rows if invoice_id in held or status in blocked}


def _overrides(
    db: Session, staff: StaffContext, customer_id: int, status: ApprovalStatus
) -> list[tuple[ApprovalRequest, str]]:
    rows = db.execute(
        select(ApprovalRequest, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == ApprovalRequest.decided_by_id)
        .where(
            ApprovalRequest.action == ApprovalAction.OVERRIDE,
            ApprovalRequest.status == status,
            ApprovalRequest.requested_by_id == staff.user.id,
            ApprovalRequest.customer_id == customer_id,
        )
        .order_by(ApprovalRequest.id)
    ).all()
    return [(r, name or "") for r, name in rows]


def context(
    db: Session, staff: StaffContext, customer_id: int, bills: list[Bill]
) -> dict[str, Any]:
    """What the pay form shows about overrides."""
    return {
        "gated": _gated(bills),
        "may_ask_override": staff.can("overrides:request"),
        "overrides_ready": _overrides(db, staff, customer_id, ApprovalStatus.APPROVED),
        "overrides_waiting": _overrides(db, staff, customer_id, ApprovalStatus.PENDING),
        "override_reasons": {
            code: name
            for code, name in reason_names().items()
            if code in corrections.REASONS[ApprovalAction.OVERRIDE]
        },
        "override_key": str(uuid.uuid4()),
    }


def chosen(
    request: Request, db: Session, staff: StaffContext, customer_id: int
) -> ApprovalRequest | None:
    """The approved override the cashier chose on the pay form, if it is theirs to use."""
    override_id = id_from(form_text(request, "override"))
    if override_id is None:
        return None
    return corrections.usable_override(db, override_id, staff.user, customer_id)


@page
@requires("overrides:request")
def ask(request: Request, db: Session) -> Response:
    customer = visible_customer(request, db)
    staff: StaffContext = request.state.staff
    try:
        gated = _gated_numbers(db, customer.id)
        corrections.ask_override(
            db,
            customer.id,
            [number for number in form_values(request, "bill") if number in gated],
            reason_code=form_text(request, "reason"),
            comment=scrub(form_text(request, "comment"))[:1000],
            requester=staff.user,
            actor=staff.actor,
            key=form_key(request),
            expires_after=dt.timedelta(hours=settings_of(request).approval_expires_hours),
        )
    except ApprovalError as error:
        request.session[NOTICE] = error.message
    else:
        request.session[NOTICE] = _(
            "Override asked for: once a supervisor approves it, take the payment here."
        )
    return redirect_to(request, "staff:counter_pay", customer_id=customer.id)
