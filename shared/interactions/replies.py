"""Answering a support request: the confirmation a resident gets when they write in, an
agent's reply by email, or a phone call the agent records. Emails go through the outbox
(`support_email`) and are sent by the worker; every subject carries the request's
reference, so whatever the resident sends back can be matched to it.

The first reply (by email or by phone) stops the first-response clock. A reply can put
the request in "waiting on the customer", which pauses its clocks.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import scrub
from shared.config import Settings
from shared.db import utcnow
from shared.i18n import DEFAULT_LOCALE, translations
from shared.i18n import gettext_ as _
from shared.interactions import history, workflow
from shared.interactions.workflow import SupportRefused
from shared.messaging import outbox
from shared.messaging.mailer import Mailer
from shared.models import OutboxMessage, SupportRequest, SupportStatus

SUPPORT_EMAIL = "support_email"
REPLY_MAX_LENGTH = 4000
S = SupportStatus


def confirm(session: Session, request: SupportRequest) -> OutboxMessage:
    """Queue the "we received your request" email to the contact's address."""
    return outbox.enqueue(
        session,
        SUPPORT_EMAIL,
        {
            "request_id": request.id,
            "kind": "confirmation",
            "to": request.contact_email,
            "locale": request.contact_locale,
        },
    )


def _checked_reply(text: str) -> str:
    text = scrub(text.strip())
    if not text:
        raise SupportRefused("reply-text", _("Write the reply."))
    if len(text) > REPLY_MAX_LENGTH:
        raise SupportRefused(
            "reply-text",
            _("The reply is too long: keep it under %(max)s characters.")
            % {"max": REPLY_MAX_LENGTH},
        )
    return text


def _answered(
    session: Session, actor: Actor, request: SupportRequest, wait: bool, now: dt.datetime
) -> None:
    """After a reply: the first response is on record; the request waits on the customer,
    or is open (a new one, or one the customer had answered)."""
    if request.first_responded_at is None:
        request.first_responded_at = now
    wanted = S.WAITING if wait else S.OPEN
    if request.status is not wanted:
        workflow.move(session, actor, request, wanted, now)


def reply_by_email(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    text: str,
    *,
    sender: str,
    wait_for_customer: bool = True,
    now: dt.datetime | None = None,
) -> OutboxMessage:
    """Email `text` to the contact, signed by `sender`, in their language's wording."""
    if request.status not in (S.NEW, S.OPEN, S.WAITING):
        raise SupportRefused("reply-text", _("This request is resolved: reopen it first."))
    if not request.contact_email:
        raise SupportRefused(
            "reply-text",
            _("This person left no email address: phone them and record the call."),
        )
    text = _checked_reply(text)
    now = now or utcnow()
    message = outbox.enqueue(
        session,
        SUPPORT_EMAIL,
        {
            "request_id": request.id,
            "kind": "reply",
            "to": request.contact_email,
            "locale": request.contact_locale,
            "text": text,
            "sender": sender,
        },
    )
    history.record(
        session,
        actor,
        request,
        "reply",
        audit.AuditAction.SUPPORT_REPLY_SENT,
        {"channel": "email", "to": request.contact_email, "length": len(text)},
        text=text,
    )
    _answered(session, actor, request, wait_for_customer, now)
    return message


def record_phone_reply(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    summary: str,
    *,
    wait_for_customer: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """The agent phoned the person: what was said, in a sentence, counts as a response."""
    if request.status not in (S.NEW, S.OPEN, S.WAITING):
        raise SupportRefused("reply-text", _("This request is resolved: reopen it first."))
    summary = _checked_reply(summary)
    history.record(
        session,
        actor,
        request,
        "reply",
        audit.AuditAction.SUPPORT_REPLY_RECORDED,
        {"channel": "phone", "length": len(summary)},
        text=summary,
    )
    _answered(session, actor, request, wait_for_customer, now or utcnow())


def mail_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def support_email(
    request: SupportRequest, kind: str, settings: Settings, locale: str, **values: str
) -> EmailMessage:
    """The email itself: plain text in `locale`, the reference in the subject. The
    resident's own message is never echoed back (so the form cannot be used to send
    someone else an email of one's choosing)."""
    _ = translations(locale).gettext
    names = {"reference": request.reference, "org": settings.org_name}
    greeting = (
        _("Hello %(name)s,") % {"name": request.contact_name}
        if request.contact_name
        else _("Hello,")
    )
    if kind == "confirmation":
        subject = _("[%(reference)s] We received your request") % names
        how = (
            _("We will answer by email.")
            if request.contact_method.value == "email"
            else _("We will call you back.")
        )
        body = [
            greeting,
            "",
            _("We received your request. Its reference is %(reference)s.") % names,
            how,
            _("If you write or call us about it, give this reference."),
        ]
    else:
        subject = _("[%(reference)s] Reply to your request") % names
        body = [
            greeting,
            "",
            values.get("text", ""),
            "",
            values.get("sender", ""),
            "",
            _("Reference: %(reference)s. If you write or call us about it, give this reference.")
            % names,
        ]
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = settings.mail_from
    email["To"] = request.contact_email or ""
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = values.get("message_id") or make_msgid(
        domain=mail_domain(settings.mail_from)
    )
    if kind == "confirmation":
        # RFC 3834: an automatic message, so auto-responders do not answer it.
        email["Auto-Submitted"] = "auto-generated"
    email.set_content("\n".join([*body, "", settings.org_name]) + "\n")
    # After the content: setting it replaces the Content-* headers.
    email["Content-Language"] = locale
    return email


def support_email_handler(settings: Settings, mailer: Mailer) -> outbox.Handler:
    """The outbox handler for `support_email` messages."""

    def handle(session: Session, message: OutboxMessage) -> None:
        payload = message.payload
        request = session.get(SupportRequest, payload["request_id"])
        if request is None:
            raise LookupError(f"support request {payload['request_id']} does not exist")
        # One Message-ID per outbox message, so a repeated send is recognisably the same.
        message_id = f"<support.{request.reference}.{message.id}@{mail_domain(settings.mail_from)}>"
        email = support_email(
            request,
            str(payload["kind"]),
            settings,
            str(payload.get("locale") or DEFAULT_LOCALE),
            text=str(payload.get("text", "")),
            sender=str(payload.get("sender", "")),
            message_id=message_id,
        )
        del email["To"]
        email["To"] = str(payload["to"])
        mailer.send(email)

    return handle
