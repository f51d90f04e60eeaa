"""What staff do on a support request's page: claim or assign it, answer (by email
through the outbox, or a phone call recorded), resend the receipt, note, link records,
identify the customer, change its priority or status, resolve it with an outcome.

Each is a plain form (post/redirect/get); an error shows the page again with what went
wrong. Working the queue needs `tickets:work`; a note, a link or the customer also need
`notes:write`, as on any interaction; resending needs `receipts:resend` on the payment's
departments. Every change is in the request's history and the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared import audit
from shared.card_numbers import scrub
from shared.i18n import LOCALES
from shared.i18n import gettext_ as _
from shared.interactions import contacts, history, replies, support, workflow
from shared.interactions.contacts import InteractionRefused
from shared.interactions.workflow import SupportRefused
from shared.models import LinkKind, Outcome, StaffUser, SupportPriority, SupportRequest
from shared.models import SupportStatus as S
from shared.payments.status import receipt_of
from shared.receipts.email import InvalidAddress, send_receipt
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.payment_views import payment_departments
from staff.support_views import (
    NOTICE,
    PERMISSION,
    payment_of,
    request_context,
    targets,
    visible_request,
)
from staff.templating import render
from staff.web import form_text, id_from, redirect_to

Refused = (SupportRefused, InteractionRefused)
# What a status form may ask for, from where the request is.
STATUS_MOVES = {"waiting": S.WAITING, "open": S.OPEN, "closed": S.CLOSED}


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def _act(
    request: Request,
    db: Session,
    act: Callable[[SupportRequest], str],
    form: dict[str, str] | None = None,
) -> Response:
    """Make one change; back to the page with its notice, or the page again with what went
    wrong (nothing of the change kept)."""
    asked = visible_request(request, db)
    try:
        notice = act(asked)
    except Refused as refused:
        db.rollback()
        asked = visible_request(request, db)
        context = request_context(request, db, asked, {refused.field: refused.message}, form)
        return render(request, "staff/support/request.html", context, status_code=422)
    request.session[NOTICE] = notice
    return redirect_to(request, "staff:support_request", reference=asked.reference)


@page
@requires(PERMISSION)
def assign(request: Request, db: Session) -> Response:
    staff = _staff(request)
    chosen = id_from(form_text(request, "assignee"))
    to = staff.user if chosen is None else db.get(StaffUser, chosen)
    if to is None or not to.active:
        raise HTTPException(404)

    def act(asked: SupportRequest) -> str:
        workflow.assign(db, staff.actor, asked, to)
        if to.id == staff.user.id:
            return _("%(reference)s is yours.") % {"reference": asked.reference}
        return _("%(reference)s is assigned to %(name)s.") % {
            "reference": asked.reference,
            "name": to.display_name,
        }

    return _act(request, db, act)


@page
@requires(PERMISSION)
def change_status(request: Request, db: Session) -> Response:
    wanted = STATUS_MOVES.get(form_text(request, "to"))
    actor = _staff(request).actor

    def act(asked: SupportRequest) -> str:
        if wanted is None:  # not one of the page's buttons: changed in the browser
            raise InteractionRefused("form", _("Choose one of the status buttons."))
        workflow.move(db, actor, asked, wanted)
        return _("The request's status changed.")

    return _act(request, db, act)


@page
@requires(PERMISSION)
def change_priority(request: Request, db: Session) -> Response:
    chosen = form_text(request, "priority")
    actor = _staff(request).actor

    def act(asked: SupportRequest) -> str:
        if chosen not in set(SupportPriority):
            raise InteractionRefused("priority", _("Choose a priority."))
        workflow.set_priority(db, actor, asked, SupportPriority(chosen), targets(request))
        return _("The priority changed; the due times follow it.")

    return _act(request, db, act)


@page
@requires(PERMISSION)
def reply(request: Request, db: Session) -> Response:
    staff = _staff(request)
    text = form_text(request, "text")
    how = form_text(request, "how") or "email"
    wait = form_text(request, "wait") == "yes"

    def act(asked: SupportRequest) -> str:
        if how == "phone":
            replies.record_phone_reply(db, staff.actor, asked, text, wait_for_customer=wait)
            return _("The call is recorded.")
        replies.reply_by_email(
            db,
            staff.actor,
            asked,
            text,
            sender=staff.user.display_name,
            wait_for_customer=wait,
        )
        return _("Your reply will be emailed to %(address)s.") % {"address": asked.contact_email}

    # The reply is not kept for the form: it may hold the card number being masked.
    return _act(request, db, act, {"how": how, "wait": "yes" if wait else ""})


@page
@requires("receipts:resend")
def resend_receipt(request: Request, db: Session) -> Response:
    staff = _staff(request)
    to = form_text(request, "to")

    def act(asked: SupportRequest) -> str:
        payment = payment_of(db, asked, staff.visible())
        allowed = staff.permissions.departments_for("receipts:resend")
        if payment is None or (
            allowed is not None and not payment_departments(db, payment) & allowed
        ):
            raise SupportRefused("resend", _("There is no receipt here that you may resend."))
        receipt = receipt_of(db, payment)
        on_file = payment.payer_email or (payment.customer.email if payment.customer else None)
        address = on_file if to == "file" else asked.contact_email if to == "contact" else None
        if receipt is None or not address:
            raise SupportRefused("resend", _("Choose where to send the receipt."))
        locale = asked.contact_locale if asked.contact_locale in LOCALES else "en"
        try:
            message = send_receipt(db, receipt, address, locale, staff.actor)
        except InvalidAddress:
            raise SupportRefused(
                "resend", _("That address cannot receive email: choose the other one.")
            ) from None
        sent_to = str(message.payload["to"])
        audit.record(
            db,
            staff.actor,
            audit.AuditAction.RECEIPT_EMAIL_REQUESTED,
            "receipt",
            receipt.receipt_number,
            {"to": sent_to, "transaction_id": payment.transaction_id, "support": asked.reference},
        )
        history.record(
            db,
            staff.actor,
            asked,
            "receipt_resent",
            audit.AuditAction.SUPPORT_RECEIPT_RESENT,
            {"receipt": receipt.receipt_number, "to": sent_to},
        )
        return _("Receipt %(number)s will be emailed to %(address)s.") % {
            "number": receipt.receipt_number,
            "address": sent_to,
        }

    return _act(request, db, act)


@page
@requires("notes:write")
def note(request: Request, db: Session) -> Response:
    actor = _staff(request).actor
    text = form_text(request, "text")

    def act(asked: SupportRequest) -> str:
        added = contacts.add_note(db, actor, asked.interaction, text)
        history.record(
            db, actor, asked, "note", audit.AuditAction.SUPPORT_NOTE_ADDED, {"note": added.id}
        )
        return _("The note is saved.")

    return _act(request, db, act)


def _file_under(db: Session, asked: SupportRequest, kind: str, reference: str) -> None:
    """A request filed under no department takes the one of what it now names."""
    if asked.department_id is None:
        found = support.about(db, kind, reference)
        if found is not None:
            asked.department_id = found.department_id


@page
@requires("notes:write")
def link(request: Request, db: Session) -> Response:
    staff = _staff(request)
    kind_text, reference = form_text(request, "kind"), form_text(request, "reference")

    def act(asked: SupportRequest) -> str:
        try:
            kind = LinkKind(kind_text)
        except ValueError:
            raise InteractionRefused("link-kind", _("Choose what to attach.")) from None
        added = contacts.attach(
            db, staff.actor, asked.interaction, kind, reference, staff.visible()
        )
        _file_under(db, asked, kind.value, added.reference)
        history.record(
            db,
            staff.actor,
            asked,
            "link",
            audit.AuditAction.SUPPORT_LINK_ADDED,
            {"kind": kind.value, "reference": added.reference},
        )
        return _("%(reference)s is attached.") % {"reference": added.reference}

    return _act(request, db, act, {"kind": kind_text, "reference": reference})


@page
@requires("notes:write")
def identify(request: Request, db: Session) -> Response:
    staff = _staff(request)
    about = form_text(request, "customer")

    def act(asked: SupportRequest) -> str:
        if not about:
            raise InteractionRefused("customer", _("Enter a number of the caller's."))
        customer = contacts.identify(db, staff.actor, asked.interaction, about, staff.visible())
        history.record(
            db,
            staff.actor,
            asked,
            "customer",
            audit.AuditAction.SUPPORT_CUSTOMER_SET,
            {"customer": customer.customer_number},
        )
        return _("The request is now %(name)s's.") % {"name": customer.name}

    return _act(request, db, act, {"customer": about})


@page
@requires(PERMISSION)
def resolve(request: Request, db: Session) -> Response:
    actor = _staff(request).actor
    chosen, text = form_text(request, "outcome"), form_text(request, "note")

    def act(asked: SupportRequest) -> str:
        try:
            outcome = Outcome(chosen)
        except ValueError:
            raise SupportRefused("outcome", _("Choose an outcome from the list.")) from None
        workflow.resolve(db, actor, asked, outcome, text)
        return _("%(reference)s is resolved.") % {"reference": asked.reference}

    return _act(request, db, act, {"outcome": chosen, "note": scrub(text)})
