"""The "contact support" form: what a person may send, checked field by field with a
message that says how to fix it. Nothing here touches the database."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.card_numbers import scrub
from shared.i18n import LOCALES
from shared.i18n import gettext_ as _
from shared.interactions import support
from shared.models import ContactMethod
from shared.receipts.email import InvalidAddress, checked_address

# A phone number as people write it: digits, spaces, +, -, dots, brackets; 7 to 15 digits.
_PHONE = re.compile(r"\+?[\d\s().-]{7,30}")
TOPICS = ("duplicate", "receipt", "")
# Filled in only by robots: the field is hidden from people (CSS) and from screen readers.
HONEYPOT = "website"
FIELDS = ("name", "email", "phone", "language", "method", "message", "reference", "topic")


@dataclass(frozen=True, slots=True)
class Checked:
    contact: support.Contact
    message: str
    unverified_reference: str | None
    topic: str | None


def check(form: dict[str, str]) -> tuple[Checked | None, dict[str, str]]:
    """The request to create, or None and the errors by field id."""
    errors: dict[str, str] = {}
    name = form.get("name", "")
    if not name:
        errors["contact-name"] = _("Enter your name.")
    elif len(name) > support.NAME_MAX_LENGTH:
        errors["contact-name"] = _("Your name is too long.")
    email = form.get("email", "")
    if email:
        try:
            email = checked_address(email)
        except InvalidAddress:
            errors["contact-email"] = _(
                "That is not a complete email address. Enter one like name@example.com."
            )
    phone = form.get("phone", "")
    digits = sum(c.isdigit() for c in phone)
    if phone and (not _PHONE.fullmatch(phone) or not 7 <= digits <= 15):
        errors["contact-phone"] = _("Enter a phone number, like 613 555 0100.")
    if not email and not phone and "contact-email" not in errors:
        errors["contact-email"] = _("Give an email address or a phone number, or both.")
    method = form.get("method", "")
    if method not in (ContactMethod.EMAIL, ContactMethod.PHONE):
        method = ContactMethod.EMAIL if email else ContactMethod.PHONE
    if method == ContactMethod.EMAIL and not email and "contact-email" not in errors:
        errors["contact-email"] = _("To be answered by email, give your email address.")
    if method == ContactMethod.PHONE and not phone and "contact-phone" not in errors:
        errors["contact-phone"] = _("To be called back, give your phone number.")
    language = form.get("language", "")
    if language not in LOCALES:
        errors["contact-language"] = _("Choose a language from the list.")
    message = scrub(form.get("message", ""))
    if not message:
        errors["contact-message"] = _("Write your question.")
    elif len(message) > support.MESSAGE_MAX_LENGTH:
        errors["contact-message"] = _(
            "Your message is too long: keep it under %(max)s characters."
        ) % {"max": support.MESSAGE_MAX_LENGTH}
    reference = form.get("reference", "")
    if len(reference) > support.REFERENCE_MAX_LENGTH:
        errors["contact-reference"] = _("That number is too long.")
    if errors:
        return None, errors
    return (
        Checked(
            support.Contact(name, email or None, phone or None, language, ContactMethod(method)),
            message,
            reference or None,
            form.get("topic") or None if form.get("topic") in TOPICS else None,
        ),
        {},
    )
