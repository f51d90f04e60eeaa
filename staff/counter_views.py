"""Take a payment at the counter: the customer's open bills across departments, one
payment and one receipt, paid in cash, by cheque or by card.

This module holds the pay page and its form, cash and cheque (taken on the POST), and the
result page. A card is typed by the customer on the gateway's hosted page: that flow is
`staff.counter_card_views`, which builds on this module (and routes the form's POST, so
that a card can reach its page without this module importing that one).
Every form carries an idempotency key, so a double submit or a refreshed page finds the
payment already made instead of making another.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from starlette.requests import Request
from starlette.responses import Response

from shared import audit
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.catalog_names import name_in
from shared.db import utcnow
from shared.gateway.protocol import PaymentGateway
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    Channel,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Tender,
    Terminal,
)
from shared.money import Money, parse_money
from shared.payments import holds
from shared.payments import taking as payments
from shared.payments.amount_input import read_cash_tendered, read_part_payment
from shared.receipts import numbering as receipts
from shared.receipts.render.html import qr_svg, receipt_html
from shared.web.endpoint import fragment_or_page, page, writes_on_get
from staff import counter_overrides
from staff.access import StaffContext, requires
from staff.customer_views import visible_customer
from staff.templating import NO_STORE, render, templates
from staff.web import form_text, form_values, local_time, settings_of

DEFAULT_TERMINAL = "COUNTER-1"
COUNTER = "counter"
NOTICE = "counter_notice"
MAX_BILLS = 200
CONFIRMED = (PaymentStatus.AUTHORIZED, PaymentStatus.POSTED, PaymentStatus.SETTLED)
IN_DOUBT = (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)
# Final, and no money moved: the form's next try needs a new key, not a replay of this one.
NOT_TAKEN = (PaymentStatus.DECLINED, PaymentStatus.FAILED)
# Which message the result page gives: only a confirmed payment is "taken".
OUTCOMES = {
    **dict.fromkeys(CONFIRMED, "taken"),
    **dict.fromkeys(IN_DOUBT, "in_doubt"),
    PaymentStatus.DECLINED: "declined",
    PaymentStatus.FAILED: "failed",
}
CHEQUE_NUMBER_MAX_LENGTH = 40


@dataclass
class Bill:
    invoice: Invoice
    owing: Money
    allowed: bool
    chosen: bool = False
    amount_text: str = ""
    error: str | None = None
    # A card payment for this bill is being confirmed: what to tell the cashier.
    held_notice: str | None = None

    @property
    def number(self) -> str:
        return self.invoice.invoice_number

    @property
    def partial(self) -> bool:
        return self.invoice.fee_type.allows_partial


@dataclass
class Form:
    key: str
    tender: str = "cash"
    cash_tendered: str = ""
    cheque_number: str = ""
    terminal_id: int | None = None


# Opens the gateway's card page for the checked form (staff.counter_card_views).
StartCard = Callable[
    [Request, Session, Customer, list[Bill], Form, payments.PaymentRequest], Response
]


def staff_of(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def gateway_of(request: Request) -> PaymentGateway:
    gateway: PaymentGateway = request.app.state.runtime.gateway
    return gateway


def open_bills(db: Session, request: Request, customer_id: int) -> list[Bill]:
    """The customer's bills with something owing, as they stand now, by department."""
    currency = settings_of(request).currency
    staff = staff_of(request)
    invoices = db.scalars(
        select(Invoice)
        .join(Account, Account.id == Invoice.account_id)
        .where(
            Account.customer_id == customer_id,
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.amount_due > Invoice.amount_paid,
            *_shown_departments(staff),
        )
        .options(
            joinedload(Invoice.account).joinedload(Account.department),
            joinedload(Invoice.fee_type),
        )
        .order_by(Account.department_id, Invoice.due_date, Invoice.id)
        .limit(MAX_BILLS)
    ).all()
    settings = settings_of(request)
    held = holds.held_on(db, [inv.id for inv in invoices])
    bills = []
    for inv in invoices:
        bill = Bill(
            invoice=inv,
            owing=Money(inv.owing, currency),
            allowed=staff.can("payments:take", inv.account.department_id),
        )
        if (hold := held.get(inv.id)) is not None:
            message, values = holds.notice(
                hold,
                inv.owing,
                inv.invoice_number,
                currency,
                request.state.locale,
                settings.timezone,
            )
            bill.held_notice = _(message) % values
        bills.append(bill)
    return bills


def _shown_departments(staff: StaffContext) -> list[ColumnElement[bool]]:
    """Bills in departments the cashier may take payments for or may see on the customer
    page; any other department's bill numbers, amounts and accounts are not theirs to see."""
    taking = staff.permissions.departments_for("payments:take")
    viewing = staff.permissions.departments_for("customers:view")
    if taking is None or viewing is None:
        return []
    return [Account.department_id.in_(taking | viewing)]


def counter_terminals(db: Session, request: Request) -> list[Terminal]:
    """The active counter terminals; the first use of the counter creates COUNTER-1."""
    query = (
        select(Terminal)
        .where(Terminal.kind == COUNTER, Terminal.status == "active")
        .order_by(Terminal.code)
    )
    found = list(db.scalars(query))
    if found:
        return found
    try:
        db.add(Terminal(code=DEFAULT_TERMINAL, kind=COUNTER, location=_("Counter")))
        audit.record(
            db,
            staff_of(request).actor,
            audit.AuditAction.COUNTER_TERMINAL_CREATED,
            "terminal",
            DEFAULT_TERMINAL,
            {"kind": COUNTER},
        )
        # Kept even on a GET: the counter cannot work without it.
        db.commit()
    except IntegrityError:  # another cashier's first use won the race
        db.rollback()
    return list(db.scalars(query))


def form_page(
    request: Request,
    db: Session,
    customer: Customer,
    bills: list[Bill],
    form: Form,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    terminals = counter_terminals(db, request)
    if form.terminal_id is None:
        remembered = request.session.get("counter_terminal")
        form.terminal_id = remembered if isinstance(remembered, int) else None
    staff = staff_of(request)
    context: dict[str, Any] = {
        **counter_overrides.context(db, staff, customer.id, bills),
        "counter_notice": request.session.pop(counter_overrides.NOTICE, None),
        "customer": customer,
        "bills": bills,
        "form": form,
        "terminals": terminals,
        "errors": errors or {},
        "as_of": local_time(request, utcnow()),
        "tenders": [
            ("cash", _("Cash")),
            ("cheque", _("Cheque")),
            ("card", _("Card (the customer types it on the card page)")),
        ],
    }
    return fragment_or_page(
        request,
        templates,
        "staff/counter/pay.html",
        "staff/counter/_bills.html",
        context,
        status_code=status_code,
        headers=NO_STORE,
    )


def _pop_notice(request: Request, customer_id: int) -> dict[str, Any] | None:
    notice = request.session.pop(NOTICE, None)
    if isinstance(notice, dict) and notice.get("customer") == customer_id:
        return notice
    return None


@page
@requires("payments:take")
@writes_on_get
def pay_page(request: Request, db: Session) -> Response:
    customer = visible_customer(request, db)
    bills = open_bills(db, request, customer.id)
    errors: dict[str, str] = {}
    notice = _pop_notice(request, customer.id)
    if notice is not None:
        errors["form"] = message_for(str(notice.get("code")))
        chosen = notice.get("items") or {}
        for bill in bills:
            if bill.number in chosen:
                bill.chosen = True
                bill.amount_text = bill.owing.plain()
    elif request.query_params.get("session"):
        # Back from the card page's cancel button.
        errors["form"] = message_for("cancelled")
    return form_page(
        request, db, customer, bills, Form(key=str(uuid.uuid4()), tender="cash"), errors
    )


def message_for(code: str) -> str:
    messages = {
        "card_declined": _("The card was declined. No money was taken. Try another card."),
        "insufficient_funds": _(
            "The card was declined because there are not enough funds. No money was taken."
        ),
        "cancelled": _("The card payment was cancelled. Nothing was charged."),
        "gateway": _("The card payment service is not answering. Nothing was charged."),
        "conflict": _(
            "This payment form was already used for a different payment. "
            "Check the bills and the tender, then take the payment again."
        ),
        "declined_before": _(
            "The card payment made with this form was declined, so no money was taken. "
            "Check the bills and the tender, then take the payment again."
        ),
        "failed_before": _(
            "The card payment made with this form did not go through, so nothing was "
            "charged. Check the bills and the tender, then take the payment again."
        ),
        "stale": _(
            "This payment form is not valid any more. "
            "Check the bills and the tender, then take the payment again."
        ),
    }
    return messages.get(code, _("The card payment did not go through. Nothing was charged."))


def _read_form(
    request: Request, db: Session, bills: list[Bill]
) -> tuple[Form, dict[str, int | None], dict[str, str]]:
    """The submitted choices, checked; `items` maps invoice number to amount (None: all)."""
    locale = request.state.locale
    key = form_text(request, "idempotency_key")
    form = Form(
        key=key if _is_our_key(key) else str(uuid.uuid4()),
        tender=form_text(request, "tender"),
        cash_tendered=form_text(request, "cash_tendered"),
        cheque_number=form_text(request, "cheque_number"),
    )
    errors: dict[str, str] = {}
    chosen = set(form_values(request, "pay"))
    items: dict[str, int | None] = {}
    total = 0
    for bill in bills:
        if bill.number not in chosen:
            continue
        bill.chosen = True
        bill.amount_text = form_text(request, f"amount-{bill.number}")
        if not bill.allowed:
            bill.error = errors[f"bill-{bill.number}"] = _(
                "You cannot take payments for %(department)s bills."
            ) % {
                "department": name_in(
                    bill.invoice.account.department, locale, settings_of(request).default_locale
                )
            }
            continue
        if bill.partial:
            amount, error = read_part_payment(bill.amount_text, bill.owing, locale)
            if error:
                bill.error = errors[f"amount-{bill.number}"] = error
            items[bill.number] = amount
            total += amount or 0
        else:
            items[bill.number] = None
            total += bill.owing.minor
    if chosen - {bill.number for bill in bills}:
        errors["form"] = _("Some bills are no longer open. Check the list again.")
    elif not chosen:
        errors["bills"] = _("Choose at least one bill to pay.")
    if form.tender not in {"cash", "cheque", "card"}:
        errors["tender-cash"] = _("Choose how the customer pays.")
    elif form.tender == "cash":
        # The change is only worth checking once every amount chosen is right.
        due = None if errors else total
        currency = settings_of(request).currency
        if error := read_cash_tendered(form.cash_tendered, due, currency, locale)[1]:
            errors["counter-cash"] = error
    elif form.tender == "cheque" and (error := _cheque_error(form.cheque_number)):
        errors["counter-cheque"] = error
    # Matched as text: the value is the browser's, and int() of it can fail ("²", 5,000 digits).
    terminals = {str(t.id): t.id for t in counter_terminals(db, request)}
    form.terminal_id = terminals.get(form_text(request, "terminal"))
    if form.terminal_id is None:
        errors["counter-terminal"] = _("Choose the counter you are working at.")
    if key != form.key:
        errors.setdefault("form", message_for("stale"))
    return form, items, errors


def _is_our_key(key: str) -> bool:
    """The counter's keys are UUIDs it made; anything else was changed in the browser
    (too long for the column, or a NUL byte PostgreSQL refuses)."""
    try:
        return str(uuid.UUID(key)) == key
    except ValueError:
        return False


def _cheque_error(number: str) -> str | None:
    if not number:
        return _("Enter the cheque number.")
    if holds_card_number(number):
        return _(CARD_NUMBER_REFUSED)
    if len(number) > CHEQUE_NUMBER_MAX_LENGTH:
        return _("The cheque number is too long.")
    if not number.isprintable():  # a NUL, or a zero-width space pasted with it: not on a cheque
        return _("Enter the cheque number as it is printed on the cheque.")
    return None


def payment_request_of(
    request: Request, form: Form, items: dict[str, int | None], card_token: str | None = None
) -> payments.PaymentRequest:
    currency = settings_of(request).currency
    locale = request.state.locale
    cash = None
    if form.tender == "cash":
        cash = parse_money(form.cash_tendered, currency, locale).minor
    return payments.PaymentRequest(
        items=tuple(payments.Item(number, amount) for number, amount in items.items()),
        tender=Tender(form.tender),
        channel=Channel.COUNTER,
        idempotency_key=form.key,
        currency=currency,
        card_token=card_token,
        cash_tendered=cash,
        # Only a cheque has one: what was typed in the field for another tender is not kept.
        cheque_number=(form.cheque_number or None) if form.tender == "cheque" else None,
        locale=locale,
        timezone=settings_of(request).timezone,
    )


def take(request: Request, db: Session, start_card: StartCard) -> Response:
    """The pay form's POST: cash and cheque are taken here; a card goes to `start_card`,
    which opens the gateway's card page."""
    customer = visible_customer(request, db)
    key = form_text(request, "idempotency_key")
    found = payments.find_by_key(db, key) if _is_our_key(key) else None
    if found is not None:
        payment = found[1]
        if payment.customer_id == customer.id and payment.status not in NOT_TAKEN:
            # A double submit, or a card payment still in doubt: show what the first one
            # did, never make a second.
            return result_page(request, db, payment)
    bills = open_bills(db, request, customer.id)
    form, items, errors = _read_form(request, db, bills)
    if found is not None:
        # The form's card attempt took no money (the browser's Back button brought the
        # form again), or the key is another customer's: the next try needs a new key.
        # A second submit of this same form lands here too, so it cannot pay twice.
        form.key = str(uuid.uuid4())
        errors["form"] = message_for(_used_key(found[1], customer))
        return form_page(request, db, customer, bills, form, errors, status_code=409)
    if errors:
        return form_page(request, db, customer, bills, form, errors, status_code=422)
    request.session["counter_terminal"] = form.terminal_id
    actor = dataclasses.replace(staff_of(request).actor, terminal_id=form.terminal_id)
    payment_request = payment_request_of(request, form, items)
    override = counter_overrides.chosen(request, db, staff_of(request), customer.id)
    if override is not None:
        if form.tender == "card":
            error = _("An override is used with cash or a cheque, not a card.")
            return form_page(request, db, customer, bills, form, {"form": error}, 422)
        invoices = frozenset(override.details.get("invoices", []))
        payment_request = dataclasses.replace(payment_request, overridden=invoices)
    if form.tender == "card":
        return start_card(request, db, customer, bills, form, payment_request)
    try:
        outcome = payments.take_payment(
            db,
            gateway_of(request),
            payment_request,
            actor,
            override,
            balances=request.app.state.runtime.balance_sources,
        )
    except payments.PaymentRefused as refused:
        return form_page(request, db, customer, bills, form, {"form": refused.message}, 422)
    except payments.IdempotencyConflict:
        form.key = str(uuid.uuid4())
        return form_page(request, db, customer, bills, form, {"form": message_for("conflict")}, 409)
    return result_page(request, db, outcome.payment, first=not outcome.replayed)


def _used_key(payment: Payment, customer: Customer) -> str:
    if payment.customer_id != customer.id:
        return "conflict"
    return "declined_before" if payment.status is PaymentStatus.DECLINED else "failed_before"


def result_page(request: Request, db: Session, payment: Payment, first: bool = False) -> Response:
    """The payment as it stands, with its printable receipt once there is one."""
    receipt = receipts.for_payment(db, payment)
    doc = None
    if receipt is not None:
        doc = receipts.document(db, receipt, settings_of(request), request.state.locale)
        if first:
            receipts.record_delivery(db, receipt, "shown", staff_of(request).actor)
            db.commit()
    context = {
        "payment": payment,
        "customer": payment.customer,
        "receipt_fragment": receipt_html(doc) if doc else None,
        # The PDF's QR code, so the printed receipt can be checked as the emailed one can.
        "qr": qr_svg(doc.verify_url, title=_("QR code to check this receipt is genuine"))
        if doc
        else None,
        "verify_url": doc.verify_url if doc else None,
        "change_due": None
        if payment.change_due is None
        else Money(payment.change_due, payment.currency),
        "total": Money(payment.amount, payment.currency),
        # Any other status: voided, refunded or reversed since it was taken.
        "outcome": OUTCOMES.get(payment.status, "changed"),
    }
    return render(request, "staff/counter/result.html", context)
