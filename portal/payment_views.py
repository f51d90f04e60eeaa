"""Check and pay, and the payment's own page.

The card is typed on the gateway's hosted page, never here: `/pay` sends the browser
there and `/pay/return` takes the payment with the token it brings back. Every step is
idempotent by the basket's key, so a refresh, a back button or a retried POST finds the
payment already made instead of making another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import basket
from portal.templating import templates
from portal.web import NO_STORE, citizen, form_text, redirect_to, settings_of
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.catalog_names import name_in
from shared.context_ref import sign_ref
from shared.gateway.protocol import GatewayError, PaymentGateway
from shared.i18n import gettext_ as _
from shared.models import (
    Allocation,
    Channel,
    Department,
    FeeType,
    Invoice,
    Payment,
    PaymentStatus,
    Tender,
)
from shared.money import Money
from shared.payments import taking as payments
from shared.receipts import numbering as receipts
from shared.web.endpoint import fragment_or_page, page, writes_on_get

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DESCRIPTION_LENGTH = 500

CONFIRMED = (PaymentStatus.AUTHORIZED, PaymentStatus.POSTED, PaymentStatus.SETTLED)
IN_DOUBT = (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)
NOT_TAKEN = (PaymentStatus.DECLINED, PaymentStatus.FAILED)


def notice(popped: tuple[str | None, str | None]) -> str | None:
    """One-time messages, looked up when shown so they are in the page's language (or as
    worded when they were set, for a bill being confirmed)."""
    code, text = popped
    if text is not None:
        return text
    if code is None:
        return None
    messages = {
        "card_declined": _(
            "Your card was declined. No money was taken. Try another card, or contact your bank."
        ),
        "insufficient_funds": _(
            "Your card was declined because there are not enough funds. No money was taken. "
            "Try another card."
        ),
        "failed": _("We could not take the payment. Nothing was charged. Please try again."),
        "cancelled": _("You cancelled the card payment. Nothing was charged."),
        "changed": _("Your basket changed. Check the amounts, then pay again."),
        "gateway": _(
            "The card payment service is not answering. Nothing was charged. "
            "Try again in a few minutes."
        ),
        "stale": _("Some bills have changed since you chose them. Check your basket again."),
    }
    return messages.get(code, messages["failed"])


# Refusals whose own words are shown: they name the bill and what it owes now.
SAID_AS_IS = frozenset({"held", "paid_elsewhere", "balance_changed"})


def _runtime_gateway(request: Request) -> PaymentGateway:
    gateway: PaymentGateway = request.app.state.runtime.gateway
    return gateway


# -- check and pay -------------------------------------------------------------------


@dataclass
class Planned:
    department: str
    invoice: Invoice
    amount: Money


def _plan(db: Session, request: Request, chosen: dict[str, int]) -> list[Planned]:
    """The chosen bills as they stand now; PaymentRefused if one can no longer be paid."""
    probe = payments.PaymentRequest(
        items=tuple(payments.Item(n, a) for n, a in chosen.items()),
        tender=Tender.CARD,
        channel=Channel.PORTAL,
        idempotency_key="check",
        currency=settings_of(request).currency,
        locale=request.state.locale,
        timezone=settings_of(request).timezone,
    )
    plan = payments.plan_allocations(db, probe)
    return [
        Planned(
            name_in(
                inv.account.department,
                request.state.locale,
                settings_of(request).default_locale,
            ),
            inv,
            Money(amount, probe.currency),
        )
        for inv, amount in plan
    ]


def _check_page(
    request: Request,
    planned: list[Planned],
    errors: dict[str, str] | None = None,
    email: str = "",
    status_code: int = 200,
) -> Response:
    total = sum((p.amount for p in planned), Money(0, settings_of(request).currency))
    context = {
        "planned": planned,
        "total": total,
        "key": basket.key(request.session),
        "errors": errors or {},
        "email": email,
        "notice": notice(basket.pop_notice(request.session)),
        "help_context": sign_ref(
            settings_of(request).secret_key, "invoice", planned[0].invoice.invoice_number
        )
        if planned
        else "",
    }
    return templates.TemplateResponse(
        request, "portal/check.html", context, status_code=status_code, headers=NO_STORE
    )


def _chosen_or_back(request: Request, db: Session) -> list[Planned] | Response:
    chosen = basket.choices(request.session)
    if chosen is None:
        return redirect_to(request, "portal:basket")
    try:
        return _plan(db, request, chosen)
    except payments.PaymentRefused as refused:
        basket.state(request.session)["choices"] = None
        if refused.code == "held":
            basket.set_notice(request.session, refused.code, refused.message)
        else:
            basket.set_notice(request.session, "stale")
        return redirect_to(request, "portal:basket")


@page
def check(request: Request, db: Session) -> Response:
    planned = _chosen_or_back(request, db)
    if isinstance(planned, Response):
        return planned
    if request.query_params.get("session") and "notice" not in basket.state(request.session):
        # Back from the hosted page's cancel button.
        basket.set_notice(request.session, "cancelled")
    return _check_page(request, planned, email=_email_of(request))


def _email_of(request: Request) -> str:
    email = basket.state(request.session).get("email")
    return email if isinstance(email, str) else ""


@page
def pay(request: Request, db: Session) -> Response:
    session = request.session
    planned = _chosen_or_back(request, db)
    if isinstance(planned, Response):
        return planned
    our_key = basket.key(session)
    if not our_key or form_text(request, "idempotency_key") != our_key:
        basket.set_notice(session, "changed")
        return redirect_to(request, "portal:check")
    email = form_text(request, "email")
    if holds_card_number(email):
        error = _(CARD_NUMBER_REFUSED)
        return _check_page(request, planned, {"pay-email": error}, email="", status_code=422)
    if email and (len(email) > 320 or not _EMAIL.fullmatch(email)):
        error = _("Enter an email address like name@example.com, or leave it empty.")
        return _check_page(request, planned, {"pay-email": error}, email=email, status_code=422)
    basket.state(session)["email"] = email
    found = payments.find_by_key(db, our_key)
    if found is not None:
        # This basket was already paid (a retried POST): show what happened.
        return _after(request, found[1])
    total = sum(p.amount.minor for p in planned)
    description = "; ".join(f"{p.department} {p.invoice.invoice_number}" for p in planned)
    try:
        hosted = _runtime_gateway(request).create_hosted_session(
            amount=total,
            currency=settings_of(request).currency,
            our_key=our_key,
            return_url=str(request.url_for("portal:pay_return")),
            cancel_url=str(request.url_for("portal:check")),
            locale=request.state.locale,
            description=description[:_DESCRIPTION_LENGTH],
        )
    except GatewayError:
        basket.set_notice(session, "gateway")
        return redirect_to(request, "portal:check")
    basket.mark_tried(session, our_key)
    return RedirectResponse(hosted.url, status_code=303)


@page
@writes_on_get
def pay_return(request: Request, db: Session) -> Response:
    session = request.session
    gateway = _runtime_gateway(request)
    try:
        result = gateway.hosted_result(request.query_params.get("session", ""))
    except GatewayError:
        return redirect_to(request, "portal:check")
    if not basket.tried(session, result.our_key):
        # Not a payment page this browser opened.
        return redirect_to(request, "portal:check")
    found = payments.find_by_key(db, result.our_key)
    if found is not None:
        return _after(request, found[1])
    if result.our_key != basket.key(session) or not result.completed or not result.token:
        if not result.completed:
            basket.set_notice(session, "cancelled")
        return redirect_to(request, "portal:check")
    chosen = basket.choices(session) or {}
    email = _email_of(request) or None
    payment_request = payments.PaymentRequest(
        items=tuple(payments.Item(n, a) for n, a in chosen.items()),
        tender=Tender.CARD,
        channel=Channel.PORTAL,
        idempotency_key=result.our_key,
        currency=settings_of(request).currency,
        card_token=result.token,
        payer_email=email,
        locale=request.state.locale,
        timezone=settings_of(request).timezone,
    )
    try:
        outcome = payments.take_payment(
            db,
            gateway,
            payment_request,
            citizen(request),
            balances=request.app.state.runtime.balance_sources,
        )
    except payments.IdempotencyConflict:
        found = payments.find_by_key(db, result.our_key)
        if found is None:
            raise
        return _after(request, found[1])
    except payments.PaymentRefused as refused:
        basket.state(session)["choices"] = None
        if refused.code in SAID_AS_IS:
            basket.set_notice(session, refused.code, refused.message)
        else:
            basket.set_notice(session, "stale")
        return redirect_to(request, "portal:basket")
    return _after(request, outcome.payment)


def _after(request: Request, payment: Payment) -> Response:
    """Where the browser goes once this browser's payment exists, whatever its state."""
    session = request.session
    basket.mark_paid(session, payment.transaction_id)
    if payment.status in NOT_TAKEN:
        if payment.idempotency_key == basket.key(session):
            basket.new_key(session)
        code = payment.decline_code if payment.status is PaymentStatus.DECLINED else "failed"
        basket.set_notice(session, code or "card_declined")
        return redirect_to(request, "portal:check")
    if payment.status in CONFIRMED:
        basket.finish(session, payment.idempotency_key)
    return redirect_to(request, "portal:payment", transaction_id=payment.transaction_id)


# -- the payment's page ----------------------------------------------------------------


@dataclass
class Part:
    department: str
    fee: str
    invoice_number: str
    amount: Money


def _parts(db: Session, payment: Payment) -> list[Part]:
    rows = db.execute(
        select(Department.name, FeeType.name, Invoice.invoice_number, Allocation.amount)
        .join(Department, Department.id == Allocation.department_id)
        .join(FeeType, FeeType.id == Allocation.fee_type_id)
        .join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(Allocation.payment_id == payment.id)
        .order_by(Department.name, Allocation.id)
    ).all()
    return [Part(d, f, n, Money(a, payment.currency)) for d, f, n, a in rows]


@page
def payment_view(request: Request, db: Session) -> Response:
    transaction_id = request.path_params["transaction_id"]
    payment = None
    if basket.paid_here(request.session, transaction_id):
        payment = db.scalars(
            select(Payment).where(Payment.transaction_id == transaction_id)
        ).one_or_none()
    if payment is None:
        return templates.TemplateResponse(
            request, "portal/payment_not_found.html", {}, status_code=404, headers=NO_STORE
        )
    if payment.status in CONFIRMED:
        basket.finish(request.session, payment.idempotency_key)
    elif payment.status in NOT_TAKEN and payment.idempotency_key == basket.key(request.session):
        # Resolved as not taken while the citizen waited: the next try needs a new key.
        basket.new_key(request.session)
    receipt = receipts.for_payment(db, payment)
    context = {
        "payment": payment,
        "receipt": receipt,
        "parts": _parts(db, payment),
        "total": Money(payment.amount, payment.currency),
        "confirmed": payment.status in CONFIRMED,
        "confirming": payment.status in IN_DOUBT,
        "declined": payment.status is PaymentStatus.DECLINED,
        "failed": payment.status is PaymentStatus.FAILED,
        "can_retry": bool(basket.choices(request.session)),
        "help_context": sign_ref(
            settings_of(request).secret_key, "transaction", payment.transaction_id
        ),
    }
    return fragment_or_page(
        request,
        templates,
        "portal/confirmation.html",
        "portal/includes/pay_outcome.html",
        context,
        headers=NO_STORE,
    )
