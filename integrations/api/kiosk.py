"""The kiosk API (`/api/v1/kiosk/...`): enrol, configuration, find bills, pay with a
card-present token, payment status and recovery by key, receipts, heartbeat, help.

Each call runs the portal's own services (shared.customers.lookup, shared.payments.taking,
shared.receipts, shared.interactions.support) with the terminal as the actor, and leaves an
audit event in the terminal's name, refusals included.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.api import kiosk_bills, schemas
from integrations.api.web import (
    ApiError,
    Caller,
    Db,
    Kiosk,
    audited,
    invalid,
    parts_of,
    speaking,
)
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.customers import lookup
from shared.db import utcnow
from shared.i18n import LOCALES, N_, gettext_, ngettext_
from shared.interactions import sla, support
from shared.local_time import moment
from shared.models import Channel, Payment, PaymentStatus, Receipt, Tender
from shared.money import Money
from shared.payments import taking
from shared.rate_limit import Limit, RateLimited, count, hit, key_of, refuse_if_spent
from shared.receipts import email as receipt_email
from shared.receipts import layout_json
from shared.receipts import numbering as receipts
from shared.receipts.render.layout import receipt_layout
from shared.terminals import credentials, health

router = APIRouter(prefix="/v1/kiosk", tags=["kiosk"])

# Failed look-ups only, like the portal's per address: a kiosk is one place many people
# use, so its allowance is the portal's per-address one doubled; per number and kiosk, a
# stranger's wrong codes for someone's number never lock its owner out elsewhere.
FAILURES_PER_TERMINAL = Limit(20, dt.timedelta(minutes=15))
FAILURES_PER_NUMBER = Limit(5, dt.timedelta(minutes=15))
HELP_PER_TERMINAL = Limit(10, dt.timedelta(minutes=10))

CONFIRMED = (PaymentStatus.AUTHORIZED, PaymentStatus.POSTED, PaymentStatus.SETTLED)
IN_DOUBT = (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a call documents (every call may answer 422 and, with a token, 401
    and 403)."""
    shown: dict[int | str, dict[str, Any]] = {
        422: {"model": schemas.InvalidInput, "description": "Invalid input"},
        400: {
            "model": schemas.RefusedBeforeTheApi,
            "description": "The address was refused before the API saw it",
        },
    }
    for code in codes:
        shown[code] = {"model": schemas.Error}
    if 400 in codes:
        shown[400] = {
            "model": schemas.Error | schemas.RefusedBeforeTheApi,
            "description": "Bad request",
        }
    return shown


AUTHED = (401, 403)


def _refuse(db: Session, caller: Caller, call: str, subject: str, error: ApiError) -> ApiError:
    """Audit a refused call (kept: the refusal is the record), then hand back the error."""
    audited(db, caller, call, subject, {"refused": error.code})
    db.commit()
    return error


def _too_many(limited: RateLimited) -> ApiError:
    message = ngettext_(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        limited.minutes,
    ) % {"num": limited.minutes}
    retry = str(int(limited.retry_after.total_seconds()) + 1)
    return ApiError(429, "too_many_attempts", message, headers={"Retry-After": retry})


# -- credentials ------------------------------------------------------------------------

_ENROLMENT_REFUSED = N_(
    "This enrolment code is not valid for this terminal: it may be wrong, used or expired. "
    "Ask an administrator for a new one."
)


@router.post(
    "/enrol",
    response_model=schemas.Enrolled,
    responses=_errors(401),
    summary="Exchange a one-time enrolment code for client credentials",
)
def enrol(body: schemas.EnrolRequest, request: Request, db: Db) -> schemas.Enrolled:
    """No bearer token: the code is the proof. The secret is shown here once."""
    address = request.client.host if request.client else None
    try:
        issued = credentials.enrol(db, body.terminal, body.enrolment_code, address)
    except credentials.EnrolmentRefused:
        db.commit()  # the failure is counted and audited
        raise ApiError(401, "enrolment_refused", gettext_(_ENROLMENT_REFUSED)) from None
    db.commit()
    return schemas.Enrolled(
        client_id=issued.client_id,
        client_secret=issued.client_secret,
        terminal=issued.terminal,
        location=issued.location,
    )


# -- configuration ----------------------------------------------------------------------


def card_present_url(request: Request) -> str:
    parts = parts_of(request)
    configured = parts.settings.card_present_url
    if configured:
        return configured
    base = getattr(parts.gateway, "base_url", parts.settings.base_url)
    return f"{str(base).rstrip('/')}/card-present/tokens"


@router.get(
    "/config",
    response_model=schemas.KioskConfig,
    responses=_errors(*AUTHED),
    summary="What the kiosk needs to start",
)
def config(request: Request, db: Db, caller: Kiosk) -> schemas.KioskConfig:
    settings = parts_of(request).settings
    audited(db, caller, "config", caller.terminal.code)
    db.commit()
    return schemas.KioskConfig(
        terminal=caller.terminal.code,
        location=caller.terminal.location,
        currency=settings.currency,
        locales=list(LOCALES),
        card_present_url=card_present_url(request),
        heartbeat_seconds=settings.kiosk_heartbeat_seconds,
    )


# -- find bills -------------------------------------------------------------------------

_NOT_FOUND = N_(
    "We could not find a bill with those details. Check the number and the code printed "
    "on your bill, and try again."
)


@router.post(
    "/lookup",
    response_model=schemas.Found,
    responses=_errors(*AUTHED, 404, 429),
    summary="Find a resident's bills from the number and code on a bill",
)
def find(body: schemas.LookupRequest, request: Request, db: Db, caller: Kiosk) -> schemas.Found:
    settings = parts_of(request).settings
    with speaking(body.locale):
        for name, value in (("reference", body.reference), ("access_code", body.access_code)):
            if holds_card_number(value):
                # Refused before it is looked up or counted: never kept, even hashed.
                raise _refuse(
                    db, caller, "lookup", "-", invalid({name: gettext_(CARD_NUMBER_REFUSED)})
                )
        code = caller.terminal.code
        limits = [
            (f"kiosk:find:terminal:{code}", FAILURES_PER_TERMINAL),
            (
                key_of(db, "kiosk:find:number", code, lookup.normalise(body.reference)),
                FAILURES_PER_NUMBER,
            ),
        ]
        try:
            refuse_if_spent(db, limits)
        except RateLimited as limited:
            raise _refuse(db, caller, "lookup", "-", _too_many(limited)) from None
        account = lookup.find_account(db, body.reference, body.access_code)
        bills: list[schemas.Bill] = []
        if account is not None:
            # What the source system says now, as on the portal's bills page.
            parts_of(request).balance_sources.refresh(db, [account], caller.actor)
            bills = kiosk_bills.open_bills(
                db,
                account,
                department_id=caller.terminal.department_id,
                currency=settings.currency,
                locale=body.locale,
                timezone=settings.timezone,
                default_locale=settings.default_locale,
            )
        if account is None or (caller.terminal.department_id is not None and not bills):
            count(db, limits)
            raise _refuse(
                db, caller, "lookup", "-", ApiError(404, "not_found", gettext_(_NOT_FOUND))
            )
        audited(db, caller, "lookup", account.account_number, {"bills": len(bills)})
        db.commit()
        numbers = [bill.invoice_number for bill in bills]
        if body.basket_token:
            # Another account of the same visit (a water bill, then a parking fine): one
            # basket, one payment. A stale or foreign basket just starts a new one.
            earlier = kiosk_bills.basket_bills(settings.secret_key, code, body.basket_token)
            numbers = [n for n in earlier or [] if n not in numbers] + numbers
        numbers = numbers[-kiosk_bills.MAX_BASKET :]
        return schemas.Found(
            basket_token=kiosk_bills.sign_basket(settings.secret_key, code, numbers),
            customer_display=kiosk_bills.initials(account.customer.name),
            bills=bills,
            currency=settings.currency,
        )


# -- payments ---------------------------------------------------------------------------

_MESSAGES = {
    "approved": N_("Your payment is approved. Thank you."),
    "in_doubt": N_(
        "Your payment is being confirmed with the card processor. Do not pay again: the "
        "amount is held so it cannot be charged twice. Ask staff for help if you need it."
    ),
    "insufficient_funds": N_(
        "Your card was declined because there are not enough funds. No money was taken. "
        "Try another card."
    ),
    "declined": N_(
        "Your card was declined. No money was taken. Try another card, or contact your bank."
    ),
    "failed": N_("We could not take the payment. Nothing was charged. Please try again."),
    "other": N_("This payment was changed after it was taken. Ask staff for details."),
}


def _message(payment: Payment) -> str:
    status = payment.status
    if status in CONFIRMED:
        return gettext_(_MESSAGES["approved"])
    if status in IN_DOUBT:
        return gettext_(_MESSAGES["in_doubt"])
    if status is PaymentStatus.DECLINED:
        if payment.decline_code == "insufficient_funds":
            return gettext_(_MESSAGES["insufficient_funds"])
        return gettext_(_MESSAGES["declined"])
    if status is PaymentStatus.FAILED:
        return gettext_(_MESSAGES["failed"])
    return gettext_(_MESSAGES["other"])


def _payment(db: Session, payment: Payment, locale: str, timezone: str) -> schemas.Payment:
    receipt = receipts.for_payment(db, payment)
    return schemas.Payment(
        transaction_id=payment.transaction_id,
        status=str(payment.status),
        approved=payment.status in CONFIRMED,
        in_doubt=payment.status in IN_DOUBT,
        message=_message(payment),
        amount_minor=payment.amount,
        amount_display=Money(payment.amount, payment.currency).format(locale),
        currency=payment.currency,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        receipt_number=receipt.receipt_number if receipt else None,
        idempotency_key=payment.idempotency_key,
        created_at=payment.created_at,
        created_at_display=moment(payment.created_at, timezone, locale),
    )


_KEY_REQUIRED = N_("Send an Idempotency-Key header: the kiosk's own reference for this payment.")
_BASKET_EXPIRED = N_("These bills were found too long ago. Look them up again.")
_NOT_IN_BASKET = N_("Bill %(number)s was not among the bills found. Look it up again.")
_CONFLICT = N_(
    "This payment reference was already used for a different payment. Start again to make a "
    "new payment."
)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="The kiosk's own reference for this payment, written to its journal first.",
    ),
]


@router.post(
    "/payments",
    response_model=schemas.Payment,
    status_code=201,
    responses={
        200: {"model": schemas.Payment, "description": "A replay: the payment already made"},
        **_errors(*AUTHED, 400, 409),
    },
    summary="Pay bills found by a look-up with a card-present token",
)
def pay(
    body: schemas.PaymentCreate,
    request: Request,
    response: Response,
    db: Db,
    caller: Kiosk,
    idempotency_key: IdempotencyKey = None,
) -> schemas.Payment:
    """The payment row is written (channel kiosk, this terminal) before the gateway is
    called, so `payments/by-key/{key}` can always tell whether anything was charged."""
    settings = parts_of(request).settings
    with speaking(body.locale):
        key = (idempotency_key or "").strip()
        if not key or any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
            raise _refuse(
                db,
                caller,
                "payment",
                "-",
                ApiError(400, "idempotency_key_required", gettext_(_KEY_REQUIRED)),
            )
        email: str | None = None
        if body.email:
            try:
                email = receipt_email.checked_address(body.email)
            except receipt_email.AddressHoldsCardNumber:
                raise _refuse(
                    db, caller, "payment", key, invalid({"email": gettext_(CARD_NUMBER_REFUSED)})
                ) from None
            except receipt_email.InvalidAddress as bad:
                raise _refuse(
                    db, caller, "payment", key, invalid({"email": gettext_(str(bad))})
                ) from None
        found = kiosk_bills.basket_bills(
            settings.secret_key, caller.terminal.code, body.basket_token
        )
        if found is None:
            raise _refuse(
                db,
                caller,
                "payment",
                key,
                ApiError(409, "basket_expired", gettext_(_BASKET_EXPIRED)),
            )
        for item in body.items:
            if item.invoice_number not in found:
                error = ApiError(
                    409, "refused", gettext_(_NOT_IN_BASKET) % {"number": item.invoice_number}
                )
                raise _refuse(db, caller, "payment", key, error)
        payment_request = taking.PaymentRequest(
            items=tuple(taking.Item(i.invoice_number, i.amount_minor) for i in body.items),
            tender=Tender.CARD,
            channel=Channel.KIOSK,
            idempotency_key=key,
            currency=settings.currency,
            card_token=body.card_token,
            payer_email=email,
            locale=body.locale,
            timezone=settings.timezone,
        )
        gateway = parts_of(request).gateway
        try:
            outcome = taking.take_payment(
                db,
                gateway,
                payment_request,
                caller.actor,
                balances=parts_of(request).balance_sources,
            )
        except taking.IdempotencyConflict:
            raise _refuse(
                db,
                caller,
                "payment",
                key,
                ApiError(409, "idempotency_conflict", gettext_(_CONFLICT)),
            ) from None
        except taking.PaymentRefused as refused:
            raise _refuse(
                db, caller, "payment", key, ApiError(409, "refused", refused.message)
            ) from None
        payment = outcome.payment
        if payment.terminal_id != caller.terminal.id:
            # The key is another terminal's: the same answer as a reused key.
            raise _refuse(
                db,
                caller,
                "payment",
                key,
                ApiError(409, "idempotency_conflict", gettext_(_CONFLICT)),
            )
        audited(
            db,
            caller,
            "payment",
            payment.transaction_id,
            {"status": str(payment.status), "replayed": outcome.replayed},
        )
        db.commit()
        if outcome.replayed:
            response.status_code = 200
        return _payment(db, payment, body.locale, settings.timezone)


def _own_payment(db: Session, caller: Caller, payment: Payment | None) -> Payment | None:
    return payment if payment is not None and payment.terminal_id == caller.terminal.id else None


LocaleQuery = Annotated[schemas.Locale, Query(description="The resident's language.")]
_PAYMENT_NOT_FOUND = N_("This terminal made no payment with that reference.")


@router.get(
    "/payments/by-key/{idempotency_key}",
    response_model=schemas.Payment,
    responses=_errors(*AUTHED, 404),
    summary="The payment written under a kiosk's idempotency key, if any",
)
def payment_by_key(
    idempotency_key: Annotated[str, Path(max_length=100)],
    request: Request,
    db: Db,
    caller: Kiosk,
    locale: LocaleQuery = "en",
) -> schemas.Payment:
    """404 means the server never wrote a payment under that key: nothing was charged."""
    with speaking(locale):
        found = taking.find_by_key(db, idempotency_key)
        payment = _own_payment(db, caller, found[1] if found else None)
        if payment is None:
            raise _refuse(
                db,
                caller,
                "payment_by_key",
                idempotency_key,
                ApiError(404, "not_found", gettext_(_PAYMENT_NOT_FOUND)),
            )
        audited(
            db, caller, "payment_by_key", payment.transaction_id, {"status": str(payment.status)}
        )
        db.commit()
        return _payment(db, payment, locale, parts_of(request).settings.timezone)


@router.get(
    "/payments/{transaction_id}",
    response_model=schemas.Payment,
    responses=_errors(*AUTHED, 404),
    summary="A payment this terminal took",
)
def payment_status(
    transaction_id: Annotated[str, Path(max_length=64)],
    request: Request,
    db: Db,
    caller: Kiosk,
    locale: LocaleQuery = "en",
) -> schemas.Payment:
    with speaking(locale):
        payment = _own_payment(
            db,
            caller,
            db.scalars(select(Payment).where(Payment.transaction_id == transaction_id)).first(),
        )
        if payment is None:
            raise _refuse(
                db,
                caller,
                "payment_status",
                transaction_id,
                ApiError(404, "not_found", gettext_(_PAYMENT_NOT_FOUND)),
            )
        audited(db, caller, "payment_status", transaction_id, {"status": str(payment.status)})
        db.commit()
        return _payment(db, payment, locale, parts_of(request).settings.timezone)


# -- receipts ---------------------------------------------------------------------------

_RECEIPT_NOT_FOUND = N_("This terminal issued no receipt with that number.")


def _own_receipt(db: Session, caller: Caller, number: str, call: str) -> Receipt:
    receipt = receipts.by_number(db, number)
    if receipt is None or receipt.payment.terminal_id != caller.terminal.id:
        raise _refuse(
            db, caller, call, number, ApiError(404, "not_found", gettext_(_RECEIPT_NOT_FOUND))
        )
    return receipt


ReceiptNumber = Annotated[str, Path(max_length=40)]


@router.get(
    "/receipts/{receipt_number}",
    response_model=schemas.Receipt,
    responses=_errors(*AUTHED, 404),
    summary="A receipt's print layout, as the staff console and the PDF lay it out",
)
def receipt(
    receipt_number: ReceiptNumber,
    request: Request,
    db: Db,
    caller: Kiosk,
    locale: LocaleQuery = "en",
) -> schemas.Receipt:
    settings = parts_of(request).settings
    with speaking(locale):
        found = _own_receipt(db, caller, receipt_number, "receipt")
        doc = receipts.document(db, found, settings, locale)
        audited(db, caller, "receipt", found.receipt_number)
        db.commit()
        return schemas.Receipt(
            receipt_number=found.receipt_number,
            total_minor=doc.total.minor,
            total_display=doc.total.format(locale),
            verification_url=doc.verify_url,
            layout=layout_json.to_json(receipt_layout(doc)),
        )


@router.post(
    "/receipts/{receipt_number}/email",
    response_model=schemas.EmailQueued,
    status_code=202,
    responses=_errors(*AUTHED, 404),
    summary="Email a receipt (through the outbox)",
)
def email_receipt(
    receipt_number: ReceiptNumber,
    body: schemas.EmailRequest,
    db: Db,
    caller: Kiosk,
) -> schemas.EmailQueued:
    with speaking(body.locale):
        found = _own_receipt(db, caller, receipt_number, "receipt_email")
        try:
            address = receipt_email.checked_address(body.email)
        except receipt_email.AddressHoldsCardNumber:
            raise _refuse(
                db,
                caller,
                "receipt_email",
                receipt_number,
                invalid({"email": gettext_(CARD_NUMBER_REFUSED)}),
            ) from None
        except receipt_email.InvalidAddress as bad:
            raise _refuse(
                db, caller, "receipt_email", receipt_number, invalid({"email": gettext_(str(bad))})
            ) from None
        receipt_email.send_receipt(db, found, address, body.locale, caller.actor)
        audited(db, caller, "receipt_email", receipt_number)
        db.commit()
        return schemas.EmailQueued(sent_to=address)


# -- heartbeat and help -----------------------------------------------------------------


@router.post(
    "/heartbeat",
    response_model=schemas.HeartbeatAnswer,
    responses=_errors(*AUTHED),
    summary="The kiosk's health; the answer says whether staff keep it in service",
)
def heartbeat(body: schemas.Heartbeat, db: Db, caller: Kiosk) -> schemas.HeartbeatAnswer:
    now = utcnow()
    health.record_heartbeat(db, caller.terminal, body.model_dump(mode="json"), now)
    audited(
        db,
        caller,
        "heartbeat",
        caller.terminal.code,
        {"reader": body.reader.state, "printer": body.printer.state, "in_service": body.in_service},
    )
    db.commit()
    return schemas.HeartbeatAnswer(server_time=now, in_service=caller.terminal.in_service)


@router.post(
    "/help",
    response_model=schemas.HelpCreated,
    status_code=201,
    responses=_errors(*AUTHED, 429),
    summary="A resident pressed 'call for help'",
)
def call_for_help(
    body: schemas.HelpRequest, request: Request, db: Db, caller: Kiosk
) -> schemas.HelpCreated:
    with speaking(body.locale):
        try:
            hit(db, f"kiosk:help:terminal:{caller.terminal.code}", HELP_PER_TERMINAL)
        except RateLimited as limited:
            raise _refuse(db, caller, "help", "-", _too_many(limited)) from None
        about = _help_about(db, caller, body.about)
        created = support.call_for_help(
            db,
            caller.actor,
            terminal_code=caller.terminal.code,
            location=caller.terminal.location,
            targets=sla.Targets.from_settings(parts_of(request).settings),
            about=about,
            locale=body.locale,
            message=body.message,
        )
        audited(db, caller, "help", created.reference)
        db.commit()
        return schemas.HelpCreated(reference=created.reference)


def _help_about(
    db: Session, caller: Caller, given: schemas.HelpAbout | None
) -> support.About | None:
    """What the kiosk showed, as the records say now; a payment or receipt only if it is
    this terminal's (a kiosk cannot attach someone else's)."""
    if given is None:
        return None
    kind = "invoice" if given.kind == "bill" else given.kind
    found = support.about(db, kind, given.reference)
    if found is None or kind == "invoice":
        return found
    payment_reference = next((ref for k, ref in found.links if str(k) == "payment"), None)
    payment = db.scalars(select(Payment).where(Payment.transaction_id == payment_reference)).first()
    return found if _own_payment(db, caller, payment) is not None else None
