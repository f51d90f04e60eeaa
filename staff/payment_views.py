"""Payment detail: every state with its time and actor, allocations, the receipt (page, PDF,
resend by email), tender and gateway references, and the payment's audit events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared import audit, local_time
from shared.card_numbers import CARD_NUMBER_REFUSED
from shared.db import utcnow
from shared.finance import deposits, journal
from shared.i18n import LOCALE_NAMES, LOCALES, current_locale
from shared.i18n import gettext_ as _
from shared.identifiers import LookupInputError, normalize_reference
from shared.interactions import contacts
from shared.messaging import write_back
from shared.models import (
    Account,
    Allocation,
    ApprovalRequest,
    AuditEvent,
    Department,
    DrawerSession,
    FeeType,
    Invoice,
    Payment,
    Receipt,
    StaffUser,
    Terminal,
)
from shared.money import Money
from shared.payments import corrections
from shared.payments.settlement import settlement_expected
from shared.payments.states import IN_DOUBT
from shared.payments.status import by_transaction_id, describe, receipt_of
from shared.receipts import numbering as receipts
from shared.receipts.email import AddressHoldsCardNumber, InvalidAddress, send_receipt
from shared.receipts.render.html import receipt_html
from shared.receipts.render.pdf import receipt_pdf
from shared.web.endpoint import page
from staff import corrections_panel
from staff.access import StaffContext, requires
from staff.templating import NO_STORE, render
from staff.web import form_text, redirect_to, settings_of

NOTICE = "staff_payment_notice"
AUDIT_LIMIT = 200


def display(request: Request) -> dict[str, Callable[..., str]]:
    """Template helpers: times in the organisation's zone, amounts in the page's language."""
    settings = settings_of(request)
    timezone = settings.timezone
    locale = current_locale.get()

    def when(value: dt.datetime | None) -> str:
        return "" if value is None else local_time.moment(value, timezone, locale, seconds=True)

    def amount(minor: int, currency: str) -> str:
        return Money(minor, currency).format(locale)

    def settlement(payment: Payment) -> str:
        """When it settled; for a posted card payment, when it should (or that it is late)."""
        if payment.settled_at is not None:
            return when(payment.settled_at)
        expected = settlement_expected(payment, settings.batch_close, settings.timezone)
        if expected is None:
            return ""
        shown = local_time.moment(expected, settings.timezone, locale)
        if utcnow() >= expected:
            return _("Late: expected by %(time)s") % {"time": shown}
        return _("Expected by %(time)s") % {"time": shown}

    return {"when": when, "amount": amount, "settlement": settlement}


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def payment_departments(db: Session, payment: Payment) -> set[int]:
    return set(
        db.scalars(select(Allocation.department_id).where(Allocation.payment_id == payment.id))
    )


def _may(request: Request, db: Session, payment: Payment, permission: str) -> bool:
    """A department-limited user acts only on payments touching one of their departments."""
    allowed = _staff(request).permissions.departments_for(permission)
    return allowed is None or bool(payment_departments(db, payment) & allowed)


def payment_for_staff(request: Request, db: Session, permission: str) -> Payment:
    """The payment of the path, if this member of staff may see it and use `permission`
    on it (department limits); 404 otherwise, as for a payment that does not exist."""
    payment = _payment(request, db)
    if not _may(request, db, payment, permission):
        raise HTTPException(404)
    return payment


def _payment(request: Request, db: Session) -> Payment:
    typed = request.path_params["transaction_id"]
    payment = by_transaction_id(db, typed)
    if payment is None:
        try:
            payment = by_transaction_id(db, normalize_reference(typed))
        except LookupInputError:
            payment = None
    # Outside the user's departments looks the same as not there at all.
    if payment is None or not _may(request, db, payment, "payments:view"):
        raise HTTPException(404)
    return payment


def _address_on_file(payment: Payment) -> str:
    return payment.payer_email or (payment.customer.email if payment.customer else None) or ""


def render_detail(
    request: Request,
    db: Session,
    payment: Payment,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    settings = settings_of(request)
    locale = current_locale.get()
    staff = _staff(request)
    receipt = receipt_of(db, payment)
    allocations = db.execute(
        select(Allocation, Invoice, Account, FeeType, Department)
        .join(Invoice, Allocation.invoice_id == Invoice.id)
        .join(Account, Allocation.account_id == Account.id)
        .join(FeeType, Allocation.fee_type_id == FeeType.id)
        .join(Department, Allocation.department_id == Department.id)
        .where(Allocation.payment_id == payment.id)
        .order_by(Allocation.id)
    ).all()
    events: list[AuditEvent] = []
    if staff.can("audit:view"):
        about = [
            and_(
                AuditEvent.object_type == "payment", AuditEvent.object_id == payment.transaction_id
            )
        ]
        if receipt is not None:
            about.append(
                and_(
                    AuditEvent.object_type == "receipt",
                    AuditEvent.object_id == receipt.receipt_number,
                )
            )
        asked = db.scalars(
            select(ApprovalRequest.id).where(ApprovalRequest.payment_id == payment.id)
        ).all()
        if asked:
            # Its corrections: who asked, who decided, what was carried out.
            about.append(
                and_(
                    AuditEvent.object_type == "approval",
                    AuditEvent.object_id.in_([str(i) for i in asked]),
                )
            )
        events = list(
            db.scalars(
                select(AuditEvent).where(or_(*about)).order_by(AuditEvent.seq).limit(AUDIT_LIMIT)
            )
        )
    on_file = _address_on_file(payment)
    context: dict[str, Any] = {
        **display(request),
        "payment": payment,
        "customer": payment.customer,
        "report": describe(payment, locale, settings.timezone, batch_close=settings.batch_close),
        "history": payment.history,
        "allocations": allocations,
        "receipt": receipt,
        "receipt_fragment": receipt_html(receipts.document(db, receipt, settings, locale))
        if receipt
        else None,
        "deliveries": receipt.deliveries if receipt else [],
        "write_backs": write_back.of_payment(db, payment.id),
        "terminal": db.get(Terminal, payment.terminal_id) if payment.terminal_id else None,
        "cashier": db.get(StaffUser, payment.staff_user_id) if payment.staff_user_id else None,
        "events": events,
        "interactions": contacts.about_payment(
            db, payment.transaction_id, receipt.receipt_number if receipt else None
        ),
        "may_see_audit": staff.can("audit:view"),
        "may_resend": receipt is not None and _may(request, db, payment, "receipts:resend"),
        "on_file": on_file,
        "form": form
        or {"to": "file" if on_file else "other", "email": "", "locale": _email_locale(payment)},
        "languages": LOCALE_NAMES,
        "errors": errors or {},
        "notice": request.session.pop(NOTICE, None),
        "corrections": corrections_panel.panel(db, payment, staff),
        "next_check": payment.updated_at + dt.timedelta(seconds=settings.recovery_after_seconds)
        if payment.status in IN_DOUBT
        else None,
        "action_names": corrections_panel.action_names(),
        "reason_names": corrections_panel.reason_names(),
        "request_status_names": corrections_panel.status_names(),
        "reasons": corrections.REASONS,
        "form_keys": {form: str(uuid.uuid4()) for form in ("refund", "void", "reversal")},
        # The trail: the journal lines of the payment and its corrections, its deposit.
        "gl_entries": journal.entries_for_payment(db, payment),
        "deposit": deposits.deposit_of(db, payment),
        "drawer": db.get(DrawerSession, payment.drawer_session_id)
        if payment.drawer_session_id
        else None,
        "may_see_finance": staff.can("reports:view"),
    }
    return render(request, "staff/payment/detail.html", context, 422 if errors else 200)


@page
@requires("payments:view")
def payment_detail(request: Request, db: Session) -> Response:
    return render_detail(request, db, _payment(request, db))


@page
@requires("payments:view")
def receipt_pdf_view(request: Request, db: Session) -> Response:
    payment = _payment(request, db)
    receipt = receipt_of(db, payment)
    if receipt is None:
        raise HTTPException(404)
    doc = receipts.document(db, receipt, settings_of(request), current_locale.get())
    headers = NO_STORE | {
        "Content-Disposition": f'inline; filename="receipt-{receipt.receipt_number}.pdf"'
    }
    return Response(receipt_pdf(doc), media_type="application/pdf", headers=headers)


def _email_locale(payment: Payment) -> str:
    preferred = payment.customer.preferred_locale if payment.customer else payment.locale
    return (
        preferred if preferred in LOCALES else payment.locale if payment.locale in LOCALES else "en"
    )


@page
@requires("receipts:resend")
def resend(request: Request, db: Session) -> Response:
    payment = _payment(request, db)
    receipt: Receipt | None = receipt_of(db, payment)
    if receipt is None or not _may(request, db, payment, "receipts:resend"):
        raise HTTPException(404)
    form = {
        "to": form_text(request, "to") or "other",
        "email": form_text(request, "email"),
        "locale": form_text(request, "locale") or _email_locale(payment),
    }
    on_file = _address_on_file(payment)
    typed = on_file if form["to"] == "file" and on_file else form["email"]
    if form["locale"] not in LOCALES:
        return render_detail(
            request, db, payment, errors={"resend-locale": _("Choose a language.")}, form=form
        )
    actor = _staff(request).actor
    try:
        message = send_receipt(db, receipt, typed, form["locale"], actor, channel="resent")
    except AddressHoldsCardNumber:
        form |= {"to": "other", "email": ""}
        errors = {"resend-email": _(CARD_NUMBER_REFUSED)}
        return render_detail(request, db, payment, errors=errors, form=form)
    except InvalidAddress:
        text = (
            _("That is not a complete email address. Enter one like name@example.com.")
            if typed
            else _("Enter an email address, like name@example.com.")
        )
        form["to"] = "other"
        return render_detail(request, db, payment, errors={"resend-email": text}, form=form)
    address = str(message.payload["to"])
    # On the record of the contact the agent is in (or the customer's latest): no one
    # has to remember to note it by hand.
    contacts.record_receipt_sent(
        db,
        actor,
        payment.customer,
        receipt.receipt_number,
        _("Receipt %(number)s resent to %(address)s (%(language)s).")
        % {
            "number": receipt.receipt_number,
            "address": address,
            "language": LOCALE_NAMES[form["locale"]],
        },
    )
    audit.record(
        db,
        actor,
        audit.AuditAction.RECEIPT_EMAIL_REQUESTED,
        "receipt",
        receipt.receipt_number,
        {"to": address, "transaction_id": payment.transaction_id},
    )
    request.session[NOTICE] = _("Receipt %(number)s will be emailed to %(address)s.") % {
        "number": receipt.receipt_number,
        "address": address,
    }
    return redirect_to(request, "staff:payment", transaction_id=payment.transaction_id)
