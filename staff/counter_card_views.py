"""Card payments at the counter: the customer types the card on the gateway's hosted page
(the cashier opens it for them), which comes back to `/staff/counter/return`.

The pay form's POST is routed here so that its card tender can open the card page; the
form itself, cash and cheque are `staff.counter_views`, which must not import this module.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.gateway.protocol import GatewayError
from shared.models import Customer, Invoice, Payment, PaymentStatus
from shared.payments import taking as payments
from shared.web.endpoint import page, writes_on_get
from staff.access import requires
from staff.counter_views import (
    NOTICE,
    Bill,
    Form,
    form_page,
    gateway_of,
    message_for,
    open_bills,
    payment_request_of,
    result_page,
    staff_of,
    take,
)
from staff.templating import NO_STORE, render

# Card payments this browser sent to the gateway: {our_key: {"customer": id, "items": ...}}.
CARD_STARTED = "counter_card"


@page
@requires("payments:take")
def pay(request: Request, db: Session) -> Response:
    """The pay form's POST: cash and cheque are taken at once, a card goes to its page."""
    return take(request, db, start_card=_to_card_page)


def _to_card_page(
    request: Request,
    db: Session,
    customer: Customer,
    bills: list[Bill],
    form: Form,
    payment_request: payments.PaymentRequest,
) -> Response:
    """Check the bills can be paid, then open the gateway's card page for the customer."""
    probe = dataclasses.replace(payment_request, card_token="check")  # noqa: S106 - not a secret, a placeholder
    try:
        plan = payments.plan_allocations(db, probe)
    except payments.PaymentRefused as refused:
        return form_page(request, db, customer, bills, form, {"form": refused.message}, 422)
    description = "; ".join(
        f"{inv.account.department.name} {inv.invoice_number}" for inv, _amount in plan
    )
    try:
        hosted = gateway_of(request).create_hosted_session(
            amount=sum(amount for _inv, amount in plan),
            currency=payment_request.currency,
            our_key=form.key,
            return_url=str(request.url_for("staff:counter_return")),
            cancel_url=str(request.url_for("staff:counter_pay", customer_id=customer.id)),
            locale=request.state.locale,
            description=description[:500],
        )
    except GatewayError:
        return form_page(request, db, customer, bills, form, {"form": message_for("gateway")}, 503)
    started = request.session.get(CARD_STARTED)
    started = dict(started) if isinstance(started, dict) else {}
    started[form.key] = {
        "customer": customer.id,
        "terminal": form.terminal_id,
        "items": {item.invoice_number: item.amount for item in payment_request.items},
    }
    # A few at most: one per card attempt still open in this browser.
    request.session[CARD_STARTED] = dict(list(started.items())[-10:])
    return RedirectResponse(hosted.url, status_code=303, headers=NO_STORE)


@page
@requires("payments:take")
@writes_on_get
def card_return(request: Request, db: Session) -> Response:
    """The gateway's card page sends the browser here with its session id."""
    session_id = request.query_params.get("session", "")
    try:
        result = gateway_of(request).hosted_result(session_id) if session_id else None
    except GatewayError:
        result = None
    started = request.session.get(CARD_STARTED)
    attempt = started.get(result.our_key) if result and isinstance(started, dict) else None
    if result is None or not isinstance(attempt, dict):
        # Not a card page this browser opened (or an old bookmark).
        return render(request, "staff/counter/no_card_payment.html", {})
    customer_id = int(attempt["customer"])
    found = payments.find_by_key(db, result.our_key)
    if found is not None:
        return _after_card(request, db, found[1], customer_id)
    if not result.completed or not result.token:
        request.session[NOTICE] = {"customer": customer_id, "code": "cancelled"}
        return _back_to_pay(request, customer_id)
    items: dict[str, int | None] = dict(attempt["items"])
    payment_request = payment_request_of(
        request, Form(key=result.our_key, tender="card"), items, card_token=result.token
    )
    actor = dataclasses.replace(staff_of(request).actor, terminal_id=attempt.get("terminal"))
    try:
        outcome = payments.take_payment(
            db,
            gateway_of(request),
            payment_request,
            actor,
            balances=request.app.state.runtime.balance_sources,
        )
    except payments.PaymentRefused as refused:
        customer = _customer(db, customer_id)
        bills = open_bills(db, request, customer_id)
        form = Form(key=str(uuid.uuid4()), tender="card")
        return form_page(request, db, customer, bills, form, {"form": refused.message}, 422)
    return _after_card(request, db, outcome.payment, customer_id, first=not outcome.replayed)


def _customer(db: Session, customer_id: int) -> Customer:
    # By the id this browser's session kept when the card page was opened, not the path's.
    customer = db.get(Customer, customer_id)
    if customer is None:
        raise HTTPException(404)
    return customer


def _back_to_pay(request: Request, customer_id: int) -> Response:
    url = request.url_for("staff:counter_pay", customer_id=customer_id)
    return RedirectResponse(str(url), status_code=303, headers=NO_STORE)


def _after_card(
    request: Request, db: Session, payment: Payment, customer_id: int, first: bool = False
) -> Response:
    if payment.status in (PaymentStatus.DECLINED, PaymentStatus.FAILED):
        code = payment.decline_code if payment.status is PaymentStatus.DECLINED else "failed"
        items = {alloc.invoice_id: alloc.amount for alloc in payment.allocations}
        numbers = db.scalars(select(Invoice.invoice_number).where(Invoice.id.in_(items))).all()
        request.session[NOTICE] = {
            "customer": customer_id,
            "code": code or "card_declined",
            "items": {number: None for number in numbers},
        }
        return _back_to_pay(request, customer_id)
    return result_page(request, db, payment, first=first)
