"""The approvals queue: refunds, voids, reversals, adjustments and overrides waiting for a
supervisor, each with its full context, approved or rejected with a comment. The page
refreshes itself (htmx) so a new request shows without reloading.

Anyone signed in sees the requests they asked for; those holding an `*:approve`
permission also see the requests they may decide, within their departments. Deciding
needs a sign-in with a second factor, and never one's own request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.approvals import requests
from shared.approvals.requests import APPROVE_PERMISSION, ApprovalError
from shared.card_numbers import scrub
from shared.exceptions import queue
from shared.finance import drawers
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    Allocation,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    Customer,
    DrawerSession,
    Invoice,
    Payment,
    StaffUser,
)
from shared.payments import corrections
from shared.web.endpoint import fragment_or_page, page
from staff import corrections_panel
from staff.access import SIGNED_IN, StaffContext, requires
from staff.payment_views import display
from staff.templating import NO_STORE, render, templates
from staff.web import form_text, redirect_to, settings_of

NOTICE = "staff_approval_notice"
SHOWN = 100


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def _departments(db: Session, request: ApprovalRequest) -> set[int]:
    """The departments a request touches: its payment's, or its account's."""
    if request.payment_id is not None:
        return set(
            db.scalars(
                select(Allocation.department_id).where(Allocation.payment_id == request.payment_id)
            )
        )
    if request.account_id is not None:
        account = db.get(Account, request.account_id)
        return {account.department_id} if account else set()
    if request.customer_id is not None:
        return set(
            db.scalars(
                select(Account.department_id).where(Account.customer_id == request.customer_id)
            )
        )
    return set()


def may_decide(db: Session, staff: StaffContext, request: ApprovalRequest) -> bool:
    """Whether this member of staff holds the permission that decides `request`, in one
    of the departments it touches (never said of their own request: `decide` refuses)."""
    permission = APPROVE_PERMISSION[request.action]
    allowed = staff.permissions.departments_for(permission)
    if not staff.can(permission):
        return False
    return allowed is None or bool(_departments(db, request) & allowed)


def _rows(db: Session, staff: StaffContext) -> dict[str, list[ApprovalRequest]]:
    deciding = {a for a, p in APPROVE_PERMISSION.items() if staff.can(p)}
    pending = db.scalars(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.status == ApprovalStatus.PENDING,
            ApprovalRequest.action.in_(deciding),
            ApprovalRequest.requested_by_id != staff.user.id,
        )
        .order_by(ApprovalRequest.requested_at)
        .limit(SHOWN)
    ).all()
    mine = db.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.requested_by_id == staff.user.id)
        .order_by(ApprovalRequest.requested_at.desc())
        .limit(SHOWN)
    ).all()
    return {
        "to_decide": [r for r in pending if may_decide(db, staff, r)],
        "mine": list(mine),
    }


def _names(db: Session, rows: list[ApprovalRequest]) -> dict[str, dict[int, str]]:
    people = {r.requested_by_id for r in rows if r.requested_by_id} | {
        r.decided_by_id for r in rows if r.decided_by_id
    }
    payments = {r.payment_id for r in rows if r.payment_id}
    customers = {r.customer_id for r in rows if r.customer_id}
    return {
        "people": dict(
            db.execute(
                select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(people))
            ).all()
        ),
        "payments": dict(
            db.execute(
                select(Payment.id, Payment.transaction_id).where(Payment.id.in_(payments))
            ).all()
        ),
        "customers": dict(
            db.execute(select(Customer.id, Customer.name).where(Customer.id.in_(customers))).all()
        ),
    }


def _words() -> dict[str, Any]:
    return {
        "action_names": corrections_panel.action_names(),
        "reason_names": corrections_panel.reason_names(),
        "status_names": corrections_panel.status_names(),
    }


@page
@requires(SIGNED_IN)
def approvals(request: Request, db: Session) -> Response:
    staff = _staff(request)
    rows = _rows(db, staff)
    context: dict[str, Any] = {
        **display(request),
        **_words(),
        **rows,
        "names": _names(db, rows["to_decide"] + rows["mine"]),
        "decides": any(staff.can(p) for p in APPROVE_PERMISSION.values()),
        "currency": settings_of(request).currency,
        "notice": request.session.pop(NOTICE, None),
    }
    return fragment_or_page(
        request,
        templates,
        "staff/approvals/queue.html",
        "queue",
        context,
        headers=NO_STORE,
    )


def _visible_request(request: Request, db: Session) -> ApprovalRequest:
    found = db.get(ApprovalRequest, request.path_params["request_id"])
    staff = _staff(request)
    if found is None or not (
        found.requested_by_id == staff.user.id or may_decide(db, staff, found)
    ):
        raise HTTPException(404)
    return found


def _detail(
    request: Request, db: Session, found: ApprovalRequest, errors: dict[str, str] | None = None
) -> Response:
    staff = _staff(request)
    payment = db.get(Payment, found.payment_id) if found.payment_id else None
    bills = {
        int(invoice_id): amount for invoice_id, amount in found.details.get("lines", {}).items()
    }
    invoice_numbers = dict(
        db.execute(
            select(Invoice.id, Invoice.invoice_number).where(
                or_(
                    Invoice.id.in_(bills),
                    Invoice.id == (found.details.get("invoice_id") or 0),
                )
            )
        ).all()
    )
    context: dict[str, Any] = {
        **display(request),
        **_words(),
        "item": found,
        "names": _names(db, [found]),
        "payment": payment,
        "history": payment.history if payment else [],
        "refundable": corrections.refundable(db, payment) if payment else None,
        "credit": corrections.credit_left(db, payment) if payment else 0,
        "cases": queue.open_for_payment(db, payment) if payment else [],
        "bills": bills,
        "invoice_numbers": invoice_numbers,
        "account": db.get(Account, found.account_id) if found.account_id else None,
        "customer": db.get(Customer, found.customer_id) if found.customer_id else None,
        "own": found.requested_by_id == staff.user.id,
        "may_decide": found.status is ApprovalStatus.PENDING
        and found.requested_by_id != staff.user.id
        and may_decide(db, staff, found),
        "second_factor": staff.second_factor,
        "currency": settings_of(request).currency,
        "errors": errors or {},
        "notice": request.session.pop(NOTICE, None),
        "is_override": found.action is ApprovalAction.OVERRIDE,
        "drawer": db.get(DrawerSession, found.details["drawer_session_id"])
        if found.action is ApprovalAction.DRAWER
        else None,
    }
    return render(request, "staff/approvals/detail.html", context, 422 if errors else 200)


@page
@requires(SIGNED_IN)
def approval_detail(request: Request, db: Session) -> Response:
    return _detail(request, db, _visible_request(request, db))


@page
@requires(SIGNED_IN)
def decide(request: Request, db: Session) -> Response:
    found = _visible_request(request, db)
    staff = _staff(request)
    decision = form_text(request, "decision")
    comment = scrub(form_text(request, "comment"))[:1000]
    if decision not in ("approve", "reject"):
        return _detail(request, db, found, {"decision": _("Choose to approve or to reject.")})
    locked = requests.locked(db, found.id)
    assert locked is not None
    try:
        requests.decide(
            db,
            locked,
            staff.user,
            staff.actor,
            approve=decision == "approve",
            comment=comment,
            may_decide=may_decide(db, staff, locked),
            second_factor=staff.second_factor,
        )
    except ApprovalError as error:
        db.commit()  # an expiry found now is kept
        return _detail(request, db, locked, {"decision": error.message})
    if locked.action is ApprovalAction.DRAWER:
        # A drawer's over/short closes in the decision's own transaction.
        drawers.carry_out(db, locked, staff.actor)
    db.commit()
    if locked.status is ApprovalStatus.APPROVED:
        corrections.carry_out(db, request.app.state.runtime.gateway, locked, staff.actor)
        db.refresh(locked)
    request.session[NOTICE] = _outcome(locked)
    return redirect_to(request, "staff:approval", request_id=locked.id)


def _outcome(found: ApprovalRequest) -> str:
    if found.status is ApprovalStatus.REJECTED:
        return _("Rejected. The person who asked sees your comment.")
    if found.status is ApprovalStatus.EXECUTED:
        return _("Approved and done.")
    if found.action is ApprovalAction.OVERRIDE:
        return _("Approved: the cashier may now take the payment, once.")
    if found.action is ApprovalAction.DRAWER:
        return _("Approved: the drawer is closed with its over/short.")
    return _("Approved, but it could not be carried out yet: %(error)s") % {
        "error": found.result.get("error", "")
    }
