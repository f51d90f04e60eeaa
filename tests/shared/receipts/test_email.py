"""Receipt emails end to end: a real payment, the outbox worker, a real SMTP server."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.actors import Actor, ActorType
from shared.config import Settings
from shared.db import utcnow
from shared.messaging import outbox
from shared.messaging.mailer import SmtpMailer
from shared.models import (
    Channel,
    OutboxMessage,
    OutboxStatus,
    Receipt,
    ReceiptDelivery,
    Tender,
)
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.receipts.email import RECEIPT_EMAIL, InvalidAddress, receipt_email_handler, send_receipt
from shared.receipts.render.email import TEXT_WIDTH, receipt_email
from tests import factories
from tests.shared.no_gateway import NoGateway
from tests.shared.receipts.test_render import VERIFY_URL, receipt
from tests.shared.smtp_server import SmtpServer, free_port
from tests.support.pci import card_numbers_in

CASHIER = Actor(ActorType.STAFF, "cashier1")


def config(port: int) -> Settings:
    return Settings(secret_key="test-secret", smtp_host="127.0.0.1", smtp_port=port)


def handlers(port: int) -> dict[str, outbox.Handler]:
    settings = config(port)
    return {RECEIPT_EMAIL: receipt_email_handler(settings, SmtpMailer(settings))}


def pay_cash(db: Session, email: str | None = "jane@example.com", locale: str = "fr") -> Receipt:
    """A real counter payment in cash for two bills in two departments."""
    tax, water = factories.bills(db, [125_000, 8_450])
    outcome = take_payment(
        db,
        NoGateway(),
        PaymentRequest(
            items=(Item(tax.invoice_number), Item(water.invoice_number)),
            tender=Tender.CASH,
            channel=Channel.COUNTER,
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=140_000,
            payer_email=email,
            locale=locale,
        ),
        CASHIER,
    )
    assert outcome.receipt is not None
    return outcome.receipt


def the_message(db: Session) -> OutboxMessage:
    db.expire_all()
    return db.scalars(select(OutboxMessage).where(OutboxMessage.kind == RECEIPT_EMAIL)).one()


def deliveries(db: Session, receipt: Receipt) -> list[ReceiptDelivery]:
    db.expire_all()
    return list(
        db.scalars(select(ReceiptDelivery).where(ReceiptDelivery.receipt_id == receipt.id)).all()
    )


def parts(message: EmailMessage) -> tuple[str, str, EmailMessage]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    (pdf,) = message.iter_attachments()
    assert isinstance(pdf, EmailMessage)
    return text.get_content(), html.get_content(), pdf


def test_a_payment_with_an_email_is_mailed_its_receipt(
    db: Session, factory: sessionmaker[Session]
) -> None:
    receipt = pay_cash(db)
    number = receipt.receipt_number
    with SmtpServer() as server:
        assert outbox.deliver_due(factory, handlers(server.port)) == 1
    (received,) = server.received
    assert received.rcpt_tos == ["jane@example.com"]
    message = received.message
    assert message["Subject"] == f"Votre reçu {number} de City of Riverton"
    assert message["Message-ID"].endswith("@riverton.example>")
    assert message["Date"]
    text, html, pdf = parts(message)
    assert number in text
    assert "Reçu officiel" in text
    assert "1\xa0334,50\xa0$" in text
    assert f"{number}</dd>" in html
    assert "Reçu officiel" in html
    assert pdf.get_filename() == f"receipt-{number}.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")

    (delivery,) = deliveries(db, receipt)
    assert (delivery.channel, delivery.destination, delivery.actor) == (
        "email",
        "jane@example.com",
        "system:paydesk",
    )
    sent = the_message(db)
    assert sent.status is OutboxStatus.SENT
    assert sent.attempts == 1
    assert sent.sent_at is not None


def test_smtp_down_then_back(db: Session, factory: sessionmaker[Session]) -> None:
    receipt = pay_cash(db)
    port = free_port()
    before = utcnow()
    assert outbox.deliver_due(factory, handlers(port)) == 0
    waiting = the_message(db)
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.attempts == 1
    assert waiting.last_error is not None
    assert "refused" in waiting.last_error.lower()
    assert waiting.next_attempt_at > before
    assert waiting.next_attempt_at > utcnow()
    assert deliveries(db, receipt) == []

    with SmtpServer(port) as server:
        assert outbox.deliver_due(factory, handlers(port)) == 0, "not due yet"
        waiting.next_attempt_at = utcnow()
        db.commit()
        assert outbox.deliver_due(factory, handlers(port)) == 1
    assert len(server.received) == 1
    sent = the_message(db)
    assert sent.status is OutboxStatus.SENT
    assert sent.attempts == 2
    assert sent.last_error is None
    assert [d.destination for d in deliveries(db, receipt)] == ["jane@example.com"]


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("", "Enter an email address"),
        ("   ", "Enter an email address"),
        ("jane", "not a complete email address"),
        ("jane@example", "not a complete email address"),
        ("jane@@example.com", "not a complete email address"),
        ("jane smith@example.com", "not a complete email address"),
        ("Jane <jane@example.com>", "not a complete email address"),
        ("jane@example.com, bob@example.com", "not a complete email address"),
        ("jane@example.com\r\nBcc: everyone@example.com", "not a complete email address"),
    ],
)
def test_a_bad_address_is_refused_and_nothing_is_queued(
    db: Session, address: str, says: str
) -> None:
    receipt = pay_cash(db, email=None)
    with pytest.raises(ValueError, match=says) as refused:
        send_receipt(db, receipt, address, "en", CASHIER)
    assert isinstance(refused.value, InvalidAddress)
    assert "name@example.com" in str(refused.value)
    db.flush()
    assert db.scalars(select(OutboxMessage)).all() == []


def test_resend_is_queued_then_sent_in_the_chosen_language(
    db: Session, factory: sessionmaker[Session]
) -> None:
    receipt = pay_cash(db, email=None)
    assert db.scalars(select(OutboxMessage)).all() == []
    queued = send_receipt(db, receipt, "  Bob.Tremblay@Example.org ", "es", CASHIER)
    db.commit()
    assert queued.payload == {
        "receipt_id": receipt.id,
        "to": "Bob.Tremblay@Example.org",
        "locale": "es",
        "requested_by": "staff:cashier1",
        "channel": "email",
    }
    assert deliveries(db, receipt) == [], "nothing is recorded until it is sent"
    with SmtpServer() as server:
        assert outbox.deliver_due(factory, handlers(server.port)) == 1
    message = server.received[0].message
    assert message["Subject"] == f"Su recibo {receipt.receipt_number} de City of Riverton"
    assert message["Content-Language"] == "es"
    _, html, _ = parts(message)
    assert '<html lang="es">' in html
    assert "Recibo oficial" in html
    assert [d.destination for d in deliveries(db, receipt)] == ["Bob.Tremblay@Example.org"]
    # Credited to whoever asked, not to the worker that sent it.
    assert [d.actor for d in deliveries(db, receipt)] == ["staff:cashier1"]


def test_an_unknown_locale_is_a_programming_error(db: Session) -> None:
    receipt = pay_cash(db, email=None)
    with pytest.raises(ValueError, match="unsupported locale 'de'"):
        send_receipt(db, receipt, "jane@example.com", "de", CASHIER)


def test_a_missing_receipt_stays_queued_with_the_reason(
    db: Session, factory: sessionmaker[Session]
) -> None:
    outbox.enqueue(
        db, RECEIPT_EMAIL, {"receipt_id": 987654321, "to": "a@example.com", "locale": "en"}
    )
    db.commit()
    assert outbox.deliver_due(factory, handlers(free_port())) == 0
    waiting = the_message(db)
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.last_error == "LookupError: receipt 987654321 does not exist"


# -- the message itself (no database) ----------------------------------------------------


def test_email_has_text_html_and_the_pdf() -> None:
    message = receipt_email(
        receipt("fr"),
        mail_from="Riverton Payments <payments@riverton.example>",
        to="jose@example.com",
    )
    assert message["Subject"] == "Votre reçu R-2026-000123 de City of Riverton"
    assert message["From"] == "Riverton Payments <payments@riverton.example>"
    assert message["To"] == "jose@example.com"
    assert re.fullmatch(r"<.+@riverton\.example>", message["Message-ID"])
    assert message["Date"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "fr"
    assert message.get_content_type() == "multipart/mixed"
    text, html, pdf = parts(message)

    lines = text.splitlines()
    assert VERIFY_URL in lines, "the verification link is whole, on a line of its own"
    assert all(len(line) <= TEXT_WIDTH for line in lines if line != VERIFY_URL)
    assert "José Ñúñez-Éloïse" in text
    assert "Merci pour votre paiement" in text

    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in html
    assert "José Ñúñez-Éloïse" in html
    assert f'href="{VERIFY_URL}"' in html
    # Nothing to fetch: no images, stylesheets or scripts from anywhere.
    assert not re.search(r"<(img|link|script|iframe)\b|\bsrc=|style=", html)

    assert pdf.get_filename() == "receipt-R-2026-000123.pdf"
    assert pdf.get_content().startswith(b"%PDF")


def test_a_given_message_id_is_kept() -> None:
    message = receipt_email(
        receipt(), mail_from="payments@riverton.example", to="a@example.com", message_id="<x@y>"
    )
    assert message["Message-ID"] == "<x@y>"


def test_no_boundary_is_a_run_of_digits() -> None:
    """Python's own MIME boundaries are 19 random digits, Luhn-valid one time in ten: a
    PCI scan of the mail spool would find 'card numbers' in one receipt email in twenty."""
    message = receipt_email(receipt(), mail_from="payments@riverton.example", to="a@example.com")
    boundaries = [part.get_boundary() for part in message.walk() if part.is_multipart()]
    assert len(boundaries) == 2
    for boundary in boundaries:
        assert boundary is not None and re.fullmatch(r"paydesk-[0-9a-f]{32}", boundary)
    assert card_numbers_in(message.as_bytes()) == []
