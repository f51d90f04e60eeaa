"""A receipt as an email: plain text, HTML and the PDF attached, in the payer's language."""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from shared.db import utcnow
from shared.i18n import translations
from shared.receipts.document import ReceiptCorrection, ReceiptDocument
from shared.receipts.layout import QrCode, ReceiptLayout, render_text, wrap
from shared.receipts.render.html import receipt_html, render
from shared.receipts.render.layout import receipt_layout
from shared.receipts.render.pdf import receipt_pdf

TEXT_WIDTH = 60


def receipt_email(
    doc: ReceiptDocument,
    *,
    mail_from: str,
    to: str,
    message_id: str | None = None,
    correction: ReceiptCorrection | None = None,
) -> EmailMessage:
    """The receipt email. Pass a stable `message_id` so a resent copy can be recognised.
    With `correction`, it tells the payer of a refund, cancellation or reversal: the
    receipt attached shows it."""
    _ = translations(doc.locale).gettext
    values = {
        "number": doc.receipt_number,
        "org": doc.org_name,
        "amount": correction.amount.format(doc.locale) if correction else "",
    }
    subjects = {
        "refund": _("Refund of %(amount)s: receipt %(number)s from %(org)s"),
        "void": _("Payment cancelled: receipt %(number)s from %(org)s"),
        "reversal": _("Payment reversed: receipt %(number)s from %(org)s"),
    }
    subject = (
        subjects[correction.kind] if correction else _("Your receipt %(number)s from %(org)s")
    ) % values
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=mail_domain(mail_from))
    # RFC 3834: an automatic message, so auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_text(doc, correction))
    message.add_alternative(
        str(
            render(
                "receipts/email.html",
                doc.locale,
                doc=doc,
                receipt=receipt_html(doc),
                opening=_opening(doc, correction),
            )
        ),
        subtype="html",
    )
    message.add_attachment(
        receipt_pdf(doc),
        maintype="application",
        subtype="pdf",
        filename=f"receipt-{doc.receipt_number}.pdf",
    )
    # Set last: turning the message multipart moves Content-* headers to the first part.
    message["Content-Language"] = doc.locale
    for part in message.walk():
        if part.is_multipart():
            # Python's own boundaries are 19 random digits: one in ten passes the Luhn
            # check, so a mail spool would read as holding card numbers to any PCI scan.
            part.set_boundary(f"paydesk-{secrets.token_hex(16)}")
    return message


def mail_domain(mail_from: str) -> str:
    """The sender's domain, for Message-IDs (never the host name: that needs DNS)."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def _opening(doc: ReceiptDocument, correction: ReceiptCorrection | None) -> str:
    _ = translations(doc.locale).gettext
    values = {
        "org": doc.org_name,
        "amount": correction.amount.format(doc.locale) if correction else "",
    }
    if correction is None:
        return _("Thank you for your payment to %(org)s.") % values
    openings = {
        "refund": _("%(org)s refunded %(amount)s of your payment to your card."),
        "void": _("%(org)s cancelled your payment of %(amount)s: you are not charged for it."),
        "reversal": _("Your payment of %(amount)s to %(org)s was reversed by your bank."),
    }
    return openings[correction.kind] % values


def _text(doc: ReceiptDocument, correction: ReceiptCorrection | None = None) -> str:
    _ = translations(doc.locale).gettext
    # A URL wrapped over two lines cannot be followed: give it a line of its own.
    layout = receipt_layout(doc)
    blocks = tuple(block for block in layout.blocks if not isinstance(block, QrCode))
    lines = [
        *wrap(_opening(doc, correction), TEXT_WIDTH),
        *wrap(
            _("Your receipt is below and attached as a PDF. Keep it for your records."),
            TEXT_WIDTH,
        ),
        "",
        *render_text(ReceiptLayout(blocks), TEXT_WIDTH),
        "",
        _("Check this receipt is genuine:"),
        doc.verify_url,
    ]
    return "\n".join(lines) + "\n"
