"""Support requests: interactions that arrive from the help widget (`open_request`) or a
kiosk's "call for help" (`call_for_help`) and wait in the team queue without an
assignee. Each gets a reference (S-2026-000123), SLA clocks for its priority, the records
it is about linked (what the server vouched for: `about`), and a history.

What the person typed about themselves is kept apart (`unverified_reference`): staff see
it marked as not verified, and nothing is linked from it. Card numbers in a message are
masked before it is saved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import scrub
from shared.db import utcnow
from shared.i18n import LOCALES
from shared.interactions import history, numbering, replies, sla
from shared.messaging import webhooks
from shared.models import (
    Account,
    Allocation,
    ContactMethod,
    Interaction,
    InteractionChannel,
    InteractionLink,
    Invoice,
    LinkKind,
    Payment,
    Receipt,
    SupportPriority,
    SupportRequest,
)

NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 40
MESSAGE_MAX_LENGTH = 4000
REFERENCE_MAX_LENGTH = 64
LOCATION_MAX_LENGTH = 200
# What a signed context may name.
CONTEXT_KINDS = ("payment", "receipt", "invoice", "account")


@dataclass(frozen=True, slots=True)
class Contact:
    """Who wrote in and how they want an answer (an email, a phone number, or both)."""

    name: str
    email: str | None
    phone: str | None
    locale: str
    method: ContactMethod


@dataclass(frozen=True, slots=True)
class About:
    """The live records a signed context names: what the request is linked to."""

    kind: str
    reference: str
    customer_id: int | None
    department_id: int | None
    links: tuple[tuple[LinkKind, str], ...]


@dataclass(frozen=True, slots=True)
class Kiosk:
    """The terminal a request came from, and where it stands (staff walk over)."""

    code: str
    location: str


def _payment_about(session: Session, kind: str, payment: Payment, receipt: str | None) -> About:
    # The department the most money went to: the queue files the request under it.
    department = session.scalar(
        select(Allocation.department_id)
        .where(Allocation.payment_id == payment.id)
        .group_by(Allocation.department_id)
        .order_by(func.sum(Allocation.amount).desc(), Allocation.department_id)
        .limit(1)
    )
    links = [(LinkKind.PAYMENT, payment.transaction_id)]
    if receipt:
        links.append((LinkKind.RECEIPT, receipt))
    reference = receipt if kind == "receipt" and receipt else payment.transaction_id
    return About(kind, reference, payment.customer_id, department, tuple(links))


def about(session: Session, kind: str, reference: str) -> About | None:
    """The records `reference` of `kind` names, as they are now; None if there is none.

    `kind` is one of CONTEXT_KINDS ("transaction" is accepted for a payment: the portal's
    pages sign payments by transaction ID)."""
    if kind in ("payment", "transaction"):
        row = session.execute(
            select(Payment, Receipt.receipt_number)
            .outerjoin(Receipt, Receipt.payment_id == Payment.id)
            .where(Payment.transaction_id == reference)
        ).first()
        return _payment_about(session, "payment", row[0], row[1]) if row else None
    if kind == "receipt":
        row = session.execute(
            select(Payment, Receipt.receipt_number)
            .join(Receipt, Receipt.payment_id == Payment.id)
            .where(Receipt.receipt_number == reference)
        ).first()
        return _payment_about(session, "receipt", row[0], row[1]) if row else None
    if kind == "invoice":
        found = session.execute(
            select(Invoice.invoice_number, Account.customer_id, Account.department_id)
            .join(Account, Account.id == Invoice.account_id)
            .where(Invoice.invoice_number == reference)
        ).first()
        if found is None:
            return None
        return About("invoice", found[0], found[1], found[2], ((LinkKind.INVOICE, found[0]),))
    if kind == "account":
        account = session.scalars(
            select(Account).where(Account.account_number == reference)
        ).one_or_none()
        if account is None:
            return None
        return About(
            "account", account.account_number, account.customer_id, account.department_id, ()
        )
    return None


def _clean(text: str | None, limit: int) -> str | None:
    cleaned = " ".join((text or "").split())[:limit]
    return cleaned or None


def open_request(
    session: Session,
    actor: Actor,
    *,
    channel: InteractionChannel,
    priority: SupportPriority,
    contact: Contact,
    message: str,
    targets: sla.Targets,
    about: About | None = None,
    kiosk: Kiosk | None = None,
    topic: str | None = None,
    unverified_reference: str | None = None,
    now: dt.datetime | None = None,
) -> SupportRequest:
    """Put a request in the team queue: an interaction nobody owns yet, with the records
    `about` names linked, its SLA clocks started and its history begun. A contact email
    gets a confirmation with the reference, through the outbox.

    The caller has checked the contact details (the widget's form says what is wrong);
    this keeps them within the columns and masks card numbers in `message`."""
    now = now or utcnow()
    if contact.locale not in LOCALES:
        raise ValueError(f"unsupported locale {contact.locale!r}")
    interaction = Interaction(
        customer_id=about.customer_id if about else None,
        staff_user_id=None,
        channel=channel,
        started_at=now,
    )
    session.add(interaction)
    session.flush()
    for kind, reference in about.links if about else ():
        session.add(InteractionLink(interaction_id=interaction.id, kind=kind, reference=reference))
    reference, sequence = numbering.next_reference(session, now.year)
    masked = scrub(message.strip())[:MESSAGE_MAX_LENGTH]
    request = SupportRequest(
        interaction_id=interaction.id,
        reference=reference,
        year=now.year,
        sequence=sequence,
        priority=priority,
        created_at=now,
        contact_name=_clean(contact.name, NAME_MAX_LENGTH) or "",
        contact_email=_clean(contact.email, EMAIL_MAX_LENGTH),
        contact_phone=_clean(contact.phone, PHONE_MAX_LENGTH),
        contact_locale=contact.locale,
        contact_method=contact.method,
        topic=topic,
        message=masked,
        context_kind=about.kind if about else None,
        context_reference=about.reference if about else None,
        unverified_reference=_clean(scrub(unverified_reference or ""), REFERENCE_MAX_LENGTH),
        terminal_code=kiosk.code if kiosk else None,
        terminal_location=_clean(kiosk.location, LOCATION_MAX_LENGTH) if kiosk else None,
        department_id=about.department_id if about else None,
        paused_seconds=0,
    )
    request.interaction = interaction
    sla.start(request, targets, now)
    session.add(request)
    session.flush()
    history.record(
        session,
        actor,
        request,
        "created",
        audit.AuditAction.SUPPORT_REQUEST_CREATED,
        {
            "channel": str(channel),
            "priority": str(priority),
            "context": f"{about.kind}:{about.reference}" if about else None,
            "terminal": kiosk.code if kiosk else None,
            "masked": masked != message.strip()[:MESSAGE_MAX_LENGTH] or None,
        },
    )
    if request.contact_email:
        replies.confirm(session, request)
    webhooks.emit(
        session,
        "support_request.created",
        {
            "reference": request.reference,
            "channel": str(channel),
            "priority": str(priority),
            "about": f"{about.kind}:{about.reference}" if about else None,
            "created_at": now.isoformat(),
        },
    )
    return request


def call_for_help(
    session: Session,
    actor: Actor,
    *,
    terminal_code: str,
    location: str,
    targets: sla.Targets,
    about: About | None = None,
    locale: str = "en",
    message: str = "",
    now: dt.datetime | None = None,
) -> SupportRequest:
    """A resident at a kiosk pressed "call for help": a high-priority request, channel
    kiosk, carrying the terminal and its location, about what the kiosk showed (`about`,
    if anything). The kiosk shows the returned request's `reference`."""
    return open_request(
        session,
        actor,
        channel=InteractionChannel.KIOSK,
        priority=SupportPriority.HIGH,
        contact=Contact("", None, None, locale, ContactMethod.PHONE),
        message=message,
        targets=targets,
        about=about,
        kiosk=Kiosk(terminal_code, location),
        topic="call_for_help",
        now=now,
    )


def get(session: Session, reference: str) -> SupportRequest | None:
    return session.scalars(
        select(SupportRequest).where(SupportRequest.reference == reference.strip().upper())
    ).one_or_none()


def of_interaction(session: Session, interaction_id: int) -> SupportRequest | None:
    return session.scalars(
        select(SupportRequest).where(SupportRequest.interaction_id == interaction_id)
    ).one_or_none()
