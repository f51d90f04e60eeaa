"""The receipt page, its PDF and "email me this receipt"; "did my payment go through?".

Who may see a receipt or a payment's status: the browser session that paid (the pay
journey lists its transaction ids in `session["paid"]`) or one that proved it through
the status look-up (`session["proven_receipts"]`, `session["proven_payments"]`).
Anyone else gets the same 404 whether or not the receipt exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.templating import templates
from portal.web import citizen, client_address, settings_of, too_many_attempts
from shared import rate_limit
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.context_ref import sign_ref
from shared.i18n import gettext_ as _
from shared.identifiers import LookupInputError, normalize_reference
from shared.models import Payment, Receipt
from shared.money import Money
from shared.payments import status as payment_status
from shared.rate_limit import Limit, RateLimited
from shared.receipts import numbering as receipts
from shared.receipts.email import (
    AddressHoldsCardNumber,
    InvalidAddress,
    checked_address,
    send_receipt,
)
from shared.receipts.render.html import qr_svg, receipt_html
from shared.receipts.render.pdf import receipt_pdf
from shared.web.endpoint import page, writes_on_get

PAID = "paid"  # written by the pay journey
PROVEN_RECEIPTS = "proven_receipts"
PROVEN_PAYMENTS = "proven_payments"
SHOWN_RECEIPTS = "shown_receipts"
EMAILED = "receipt_emailed"
# Enough for a busy afternoon; old entries fall off so a session stays small.
REMEMBERED = 20

EMAIL_LIMIT = Limit(5, dt.timedelta(hours=1))
# Failed status look-ups. Per reference over every address: the second proof of a
# receipt (an email, 4 card digits) must not be guessable by spreading the guesses out.
STATUS_FAILURES_PER_CLIENT = Limit(20, dt.timedelta(minutes=15))
STATUS_FAILURES_PER_REFERENCE = Limit(5, dt.timedelta(minutes=15))
STATUS_FAILURES_EVERYWHERE = Limit(500, dt.timedelta(minutes=15))


def _listed(request: Request, key: str) -> list[str]:
    value = request.session.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _remember(request: Request, key: str, value: str) -> None:
    values = [v for v in _listed(request, key) if v != value]
    request.session[key] = [*values, value][-REMEMBERED:]


def _may_see(request: Request, receipt: Receipt) -> bool:
    return receipt.receipt_number in _listed(
        request, PROVEN_RECEIPTS
    ) or receipt.payment.transaction_id in _listed(request, PAID)


def _may_see_payment(request: Request, transaction_id: str) -> bool:
    return transaction_id in _listed(request, PAID) or transaction_id in _listed(
        request, PROVEN_PAYMENTS
    )


def _visible_receipt(request: Request, db: Session) -> Receipt | None:
    """The receipt in the path, if this session may see it."""
    if not (_listed(request, PROVEN_RECEIPTS) or _listed(request, PAID)):
        return None  # a stranger's session: no look-up at all
    receipt = receipts.by_number(db, request.path_params["number"])
    return receipt if receipt is not None and _may_see(request, receipt) else None


def _not_found(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "portal/receipt.html", {"doc": None}, status_code=404
    )


def _receipt_response(
    request: Request,
    db: Session,
    receipt: Receipt,
    *,
    email: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    doc = receipts.document(db, receipt, settings, request.state.locale)
    context: dict[str, Any] = {
        "doc": doc,
        "receipt_fragment": receipt_html(doc),
        "qr": qr_svg(doc.verify_url, title=_("QR code to check this receipt is genuine")),
        "email": email,
        "errors": errors or {},
        "help_context": sign_ref(settings.secret_key, "receipt", receipt.receipt_number),
        "status_url": request.url_for(
            "portal:payment_status_result", transaction_id=doc.transaction_id
        )
        if _may_see_payment(request, doc.transaction_id)
        else None,
    }
    return templates.TemplateResponse(request, "portal/receipt.html", context, status_code)


@page
@writes_on_get
def receipt_page(request: Request, db: Session) -> Response:
    receipt = _visible_receipt(request, db)
    if receipt is None:
        return _not_found(request)
    response = _receipt_response(request, db, receipt)
    if receipt.receipt_number not in _listed(request, SHOWN_RECEIPTS):
        receipts.record_delivery(db, receipt, "shown", citizen(request))
        # The one write of this GET (@page rolls GETs back): the first showing to a session.
        db.commit()
        _remember(request, SHOWN_RECEIPTS, receipt.receipt_number)
    return response


@page
def receipt_pdf_download(request: Request, db: Session) -> Response:
    receipt = _visible_receipt(request, db)
    if receipt is None:
        return _not_found(request)
    doc = receipts.document(db, receipt, settings_of(request), request.state.locale)
    filename = f"receipt-{receipt.receipt_number}.pdf"
    return Response(
        receipt_pdf(doc),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@page
def email_receipt(request: Request, db: Session) -> Response:
    receipt = _visible_receipt(request, db)
    if receipt is None:
        return _not_found(request)
    raw = request.state.form.get("email", "")
    typed = raw.strip() if isinstance(raw, str) else ""
    try:
        address = checked_address(typed)
    except AddressHoldsCardNumber:
        return _receipt_response(
            request, db, receipt, errors={"email": _(CARD_NUMBER_REFUSED)}, status_code=422
        )
    except InvalidAddress:
        message = (
            _("That is not a complete email address. Enter one like name@example.com.")
            if typed
            else _("Enter an email address, like name@example.com.")
        )
        return _receipt_response(
            request, db, receipt, email=typed, errors={"email": message}, status_code=422
        )
    try:
        key = rate_limit.key_of(db, "receipt-email", receipt.receipt_number)
        rate_limit.hit(db, key, EMAIL_LIMIT)
    except RateLimited as limited:
        message = _(
            "This receipt has been emailed too many times. Try again in %(minutes)s minutes."
        ) % {"minutes": limited.minutes}
        return _receipt_response(
            request, db, receipt, email=typed, errors={"email": message}, status_code=429
        )
    send_receipt(db, receipt, address, request.state.locale, citizen(request))
    request.session[EMAILED] = {"number": receipt.receipt_number, "to": address}
    return RedirectResponse(
        request.url_for("portal:receipt_email_sent", number=receipt.receipt_number), status_code=303
    )


@page
def receipt_email_sent(request: Request, db: Session) -> Response:
    receipt = _visible_receipt(request, db)
    sent = request.session.get(EMAILED)
    if (
        receipt is None
        or not isinstance(sent, dict)
        or sent.get("number") != receipt.receipt_number
    ):
        return _not_found(request)
    context = {
        "number": receipt.receipt_number,
        "to": sent.get("to", ""),
        "help_context": sign_ref(
            settings_of(request).secret_key, "receipt", receipt.receipt_number
        ),
    }
    return templates.TemplateResponse(request, "portal/receipt_email_sent.html", context)


# "Did my payment go through?"


FIELDS = ("reference", "amount", "check")


def _status_form(
    request: Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {"values": values or dict.fromkeys(FIELDS, ""), "errors": errors or {}}
    return templates.TemplateResponse(
        request, "portal/status.html", context, status_code, headers=headers
    )


def status_form(request: Request) -> Response:
    return _status_form(request)


def _status_errors(
    values: dict[str, str], currency: str, locale: str
) -> tuple[str, Money | None, str | None, dict[str, str]]:
    """The reference, amount and check read from the form, and what is wrong with them."""
    errors: dict[str, str] = {}
    reference, amount, check = "", None, None
    try:
        reference = normalize_reference(values["reference"])
    except LookupInputError:
        errors["reference"] = (
            _(
                "Enter the receipt number (like R-2025-000123) or the transaction ID "
                "(like TX-4K7Q-2M9X-D4HJ) exactly as it appears on your receipt or email."
            )
            if values["reference"]
            else _("Enter your receipt number or transaction ID.")
        )
    try:
        amount = payment_status.parse_amount(values["amount"], currency, locale)
    except LookupInputError:
        errors["amount"] = (
            _("Enter the amount you paid, like 125.50.")
            if values["amount"]
            else _("Enter the amount you paid.")
        )
    for name in FIELDS:
        if holds_card_number(values[name]):
            # Not echoed back either: the field comes back empty.
            errors[name], values[name] = _(CARD_NUMBER_REFUSED), ""
    if values["check"] and "check" not in errors:
        try:
            check = payment_status.parse_check(values["check"])
        except LookupInputError:
            errors["check"] = _(
                "Enter the email address you gave when you paid, like name@example.com, "
                "or the last 4 digits of the card."
            )
    elif reference and payment_status.needs_check(reference):
        errors["check"] = _(
            "With a receipt number, also enter the email address you gave when you paid "
            "or the last 4 digits of the card."
        )
    return reference, amount, check, errors


@page
def status_lookup(request: Request, db: Session) -> Response:
    settings = settings_of(request)
    form = request.state.form
    values = {
        name: value.strip() if isinstance(value := form.get(name, ""), str) else ""
        for name in FIELDS
    }
    reference, amount, check, errors = _status_errors(
        values, settings.currency, request.state.locale
    )
    if errors or amount is None:
        return _status_form(request, values, errors, 422)
    # Failures only: someone checking their own payments again and again is never refused.
    limits = [
        (
            rate_limit.key_of(db, "payment-status:client", client_address(request)),
            STATUS_FAILURES_PER_CLIENT,
        ),
        (rate_limit.key_of(db, "payment-status:ref", reference), STATUS_FAILURES_PER_REFERENCE),
        ("payment-status:everywhere", STATUS_FAILURES_EVERYWHERE),
    ]
    try:
        rate_limit.refuse_if_spent(db, limits)
    except RateLimited as limited:
        message, headers = too_many_attempts(limited)
        return _status_form(request, values, {"form": message}, 429, headers)
    payment = payment_status.find_payment(db, reference, amount, check)
    if payment is None:
        rate_limit.count(db, limits)
        message = _(
            "We could not find a payment with those details. Check the receipt number or "
            "transaction ID, the amount, and the email address or card digits, then try again."
        )
        return _status_form(request, values, {"form": message}, 422)
    _remember(request, PROVEN_PAYMENTS, payment.transaction_id)
    receipt = payment_status.receipt_of(db, payment)
    if receipt is not None:
        _remember(request, PROVEN_RECEIPTS, receipt.receipt_number)
    return RedirectResponse(
        request.url_for("portal:payment_status_result", transaction_id=payment.transaction_id),
        status_code=303,
    )


def _status_not_found(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "portal/status_result.html", {"report": None}, status_code=404
    )


@page
def status_result(request: Request, db: Session) -> Response:
    transaction_id = request.path_params["transaction_id"]
    if not _may_see_payment(request, transaction_id):
        return _status_not_found(request)
    payment: Payment | None = payment_status.by_transaction_id(db, transaction_id)
    if payment is None:
        return _status_not_found(request)
    settings = settings_of(request)
    receipt = payment_status.receipt_of(db, payment)
    context = {
        "payment": payment,
        "amount": Money(payment.amount, payment.currency),
        "report": payment_status.describe(
            payment, request.state.locale, settings.timezone, batch_close=settings.batch_close
        ),
        "receipt_number": receipt.receipt_number if receipt else None,
        "help_context": sign_ref(settings.secret_key, "transaction", transaction_id),
    }
    return templates.TemplateResponse(request, "portal/status_result.html", context)
