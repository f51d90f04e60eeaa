"""Emailing receipts: asked for now (`send_receipt`), sent by the outbox worker later.

Posting a payment with the payer's email enqueues a `receipt_email` message;
so does `send_receipt` ("email me this receipt", a staff resend). The handler
renders the receipt in the payload's language, sends it, and only then records
the delivery, in the same transaction that marks the message sent.
"""

from __future__ import annotations

import re
from email import errors
from email.headerregistry import Address

from sqlalchemy.orm import Session

from shared.actors import SYSTEM, Actor, ActorType
from shared.card_numbers import holds_card_number
from shared.config import Settings
from shared.i18n import DEFAULT_LOCALE, LOCALES
from shared.messaging import outbox
from shared.messaging.mailer import Mailer
from shared.models import OutboxMessage, Receipt
from shared.receipts import numbering as receipts
from shared.receipts.render.email import mail_domain, receipt_email

# One or more dot-separated labels, then a top-level domain of letters.
_DOMAIN = re.compile(r"(?:[^\W_](?:(?:[^\W_]|-)*[^\W_])?\.)+[^\W\d_]{2,}")
MAX_ADDRESS_LENGTH = 254
# The outbox kind of a receipt email (posting queues one; so does a resend).
RECEIPT_EMAIL = "receipt_email"


class AddressHoldsCardNumber(ValueError):
    """An address (its local part, usually) holding a card number: never kept or sent to."""


class InvalidAddress(ValueError):
    """Not an email address we can send to; the message says so in plain words."""


def checked_address(text: str) -> str:
    """The address as we will store and send to it, or InvalidAddress."""
    text = text.strip()
    if holds_card_number(text):
        raise AddressHoldsCardNumber("an address holding a card number")
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, errors.HeaderParseError):
        address = None
    if (
        address is None
        or not address.username
        or not _DOMAIN.fullmatch(address.domain)
        or len(address.addr_spec) > MAX_ADDRESS_LENGTH
    ):
        raise InvalidAddress(
            "That is not a complete email address. Enter one like name@example.com."
            if text
            else "Enter an email address, like name@example.com."
        )
    return address.addr_spec


def send_receipt(
    session: Session,
    receipt: Receipt,
    to: str,
    locale: str,
    actor: Actor,
    *,
    channel: str = "email",
) -> OutboxMessage:
    """Queue the receipt to be emailed to `to` in `locale`; `channel` is what the delivery
    log will call it ("resent" for a staff resend).

    Raises InvalidAddress (a ValueError) for an address we cannot send to. The
    delivery is recorded when the worker has sent it, not now, in `actor`'s name.
    """
    address = checked_address(to)
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; expected one of {', '.join(LOCALES)}")
    return outbox.enqueue(
        session,
        RECEIPT_EMAIL,
        {
            "receipt_id": receipt.id,
            "to": address,
            "locale": locale,
            "requested_by": str(actor),
            "channel": channel,
        },
    )


def _requester(payload: dict[str, object]) -> Actor:
    """Who asked for the email: the delivery is theirs, not the worker's that sent it."""
    kind, _, name = str(payload.get("requested_by") or "").partition(":")
    if kind not in set(ActorType) or not name:
        return SYSTEM
    return Actor(ActorType(kind), name)


def receipt_email_handler(settings: Settings, mailer: Mailer) -> outbox.Handler:
    """The outbox handler for `receipt_email` messages."""

    def handle(session: Session, message: OutboxMessage) -> None:
        payload = message.payload
        receipt = session.get(Receipt, payload["receipt_id"])
        if receipt is None:
            raise LookupError(f"receipt {payload['receipt_id']} does not exist")
        doc = receipts.document(session, receipt, settings, payload.get("locale") or DEFAULT_LOCALE)
        # One Message-ID per outbox message: if a send is repeated (sent, then the
        # commit failed), mail clients can tell the copies are the same email.
        message_id = (
            f"<receipt.{receipt.receipt_number}.{message.id}@{mail_domain(settings.mail_from)}>"
        )
        correction = next(
            (c for c in doc.corrections if c.id == payload.get("correction_id")), None
        )
        email = receipt_email(
            doc,
            mail_from=settings.mail_from,
            to=payload["to"],
            message_id=message_id,
            correction=correction,
        )
        mailer.send(email)
        receipts.record_delivery(
            session,
            receipt,
            str(payload.get("channel") or "email"),
            _requester(payload),
            destination=payload["to"],
        )

    return handle
