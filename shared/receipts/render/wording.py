"""What every rendering of a receipt says the same way: date, time, tender, status."""

from __future__ import annotations

from babel.dates import format_date

from shared import local_time
from shared.i18n import translations
from shared.money import babel_locale
from shared.receipts.document import ReceiptDocument

CARD_BRANDS = {
    "amex": "American Express",
    "discover": "Discover",
    "interac": "Interac",
    "mastercard": "Mastercard",
    "visa": "Visa",
}


def issued_date(doc: ReceiptDocument) -> str:
    """e.g. `March 12, 2026`, `12 mars 2026`, `12 de marzo de 2026`."""
    return str(format_date(doc.issued_at, "long", locale=babel_locale(doc.locale)))


def issued_time(doc: ReceiptDocument) -> str:
    """e.g. `2:05:33 p.m. (Eastern Standard Time)`: named, since it may not be the reader's."""
    return local_time.time_of_day(doc.issued_at, doc.timezone, doc.locale, seconds=True)


def card_text(doc: ReceiptDocument) -> str:
    brand = doc.card_brand or ""
    name = CARD_BRANDS.get(brand.lower(), brand.title())
    return f"{name} •••• {doc.card_last4}" if doc.card_last4 else name


def tender_rows(doc: ReceiptDocument) -> list[tuple[str, str]]:
    """How it was paid, as (label, value) rows."""
    _ = translations(doc.locale).gettext
    method = _("Payment method")
    if doc.tender == "card":
        return [(method, card_text(doc))]
    if doc.tender == "cash":
        rows = [(method, _("Cash"))]
        if doc.cash_tendered is not None:
            rows.append((_("Cash tendered"), doc.cash_tendered.format(doc.locale)))
        if doc.change_due is not None:
            rows.append((_("Change due"), doc.change_due.format(doc.locale)))
        return rows
    if doc.tender == "cheque":
        return [(method, _("Cheque")), (_("Cheque number"), doc.cheque_number or "")]
    return [(method, doc.tender)]


def status_text(doc: ReceiptDocument) -> str:
    _ = translations(doc.locale).gettext
    labels = {
        "posted": _("Paid"),
        "settled": _("Paid"),
        "refunded": _("Refunded"),
        "partially_refunded": _("Partly refunded"),
        "voided": _("Cancelled"),
        "reversed": _("Reversed"),
    }
    return labels.get(doc.status, doc.status.replace("_", " "))


def after_total_rows(doc: ReceiptDocument) -> list[tuple[str, str]]:
    """What happened to the money after the total: a credit kept, refunds, a cancellation."""
    _ = translations(doc.locale).gettext
    rows = []
    if doc.credit is not None:
        rows.append((_("Kept as a credit on your account"), doc.credit.format(doc.locale)))
    labels = {
        "refund": _("Refunded on %(date)s"),
        "void": _("Cancelled on %(date)s"),
        "reversal": _("Reversed on %(date)s"),
    }
    for correction in doc.corrections:
        day = str(format_date(correction.at, "medium", locale=babel_locale(doc.locale)))
        back = -correction.amount
        rows.append((labels[correction.kind] % {"date": day}, back.format(doc.locale)))
    return rows
