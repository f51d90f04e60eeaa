"""The receipt page, its PDF and "email me this receipt", through the whole stack."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from sqlalchemy import select
from starlette.testclient import TestClient

from shared.messaging import outbox
from shared.models import Receipt, ReceiptDelivery
from shared.receipts.email import receipt_email_handler
from tests.portal.conftest import Portal, csrf_from
from tests.portal.test_status import EMAIL, Paid, browser, pay_cash, prove, text_of


def proven(portal: Portal, amount: int = 1_234, lang: str = "en") -> tuple[TestClient, Paid]:
    paid = pay_cash(portal, amount)
    client = browser(portal)
    prove(client, paid.receipt_number, f"{amount // 100}.{amount % 100:02d}", EMAIL, lang)
    return client, paid


def deliveries(portal: Portal, number: str, channel: str) -> list[ReceiptDelivery]:
    with portal.factory() as db:
        return list(
            db.scalars(
                select(ReceiptDelivery)
                .join(Receipt, Receipt.id == ReceiptDelivery.receipt_id)
                .where(Receipt.receipt_number == number, ReceiptDelivery.channel == channel)
            ).all()
        )


def test_receipt_is_hidden_without_proof_and_never_says_whether_it_exists(portal: Portal) -> None:
    paid = pay_cash(portal)
    client = browser(portal)
    real = client.get(f"/receipts/{paid.receipt_number}")
    fake = client.get("/receipts/R-2099-000001")
    assert real.status_code == fake.status_code == 404
    assert real.text.replace(paid.receipt_number, "R-2099-000001") == fake.text
    assert 'href="http://testserver/status"' in real.text
    assert client.get(f"/receipts/{paid.receipt_number}.pdf").status_code == 404


def test_receipt_page_after_proof(portal: Portal) -> None:
    client, paid = proven(portal, 1_234)
    response = client.get(f"/receipts/{paid.receipt_number}")
    assert response.status_code == 200
    html = response.text
    assert paid.receipt_number in html and paid.transaction_id in html
    assert "$12.34" in html
    assert "<svg" in html and "/verify/" in html
    assert f'href="http://testserver/receipts/{paid.receipt_number}.pdf"' in html
    assert "/static/shared/print.css" in html and 'media="print"' in html
    assert "<script>" not in html and "style=" not in html
    assert 'data-context="' in html


def test_shown_is_logged_once_per_session(portal: Portal) -> None:
    client, paid = proven(portal)
    for _ in range(3):
        assert client.get(f"/receipts/{paid.receipt_number}").status_code == 200
    assert len(deliveries(portal, paid.receipt_number, "shown")) == 1
    other = browser(portal)
    prove(other, paid.transaction_id, "12.34", EMAIL)
    other.get(f"/receipts/{paid.receipt_number}")
    assert len(deliveries(portal, paid.receipt_number, "shown")) == 2


def test_pdf_download(portal: Portal) -> None:
    client, paid = proven(portal)
    response = client.get(f"/receipts/{paid.receipt_number}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="receipt-{paid.receipt_number}.pdf"'
    )
    assert response.content.startswith(b"%PDF")


def test_email_form_rejects_a_bad_address(portal: Portal) -> None:
    client, paid = proven(portal)
    page = client.get(f"/receipts/{paid.receipt_number}")
    response = client.post(
        f"/receipts/{paid.receipt_number}/email",
        data={"csrf_token": csrf_from(page.text), "email": "jane@"},
    )
    assert response.status_code == 422
    html = response.text
    assert '<div class="error-summary" role="alert" aria-labelledby' in html
    assert '<a href="#email">That is not a complete email address.' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="email-hint email-error"' in html
    assert 'value="jane@"' in html


def test_email_receipt_is_queued_then_sent_with_the_pdf(portal: Portal) -> None:
    client, paid = proven(portal)
    page = client.get(f"/receipts/{paid.receipt_number}")
    response = client.post(
        f"/receipts/{paid.receipt_number}/email",
        data={"csrf_token": csrf_from(page.text), "email": " someone.else@example.org "},
    )
    assert response.status_code == 303
    sent = client.get(response.headers["location"])
    assert "We are sending your receipt to someone.else@example.org" in text_of(sent.text)
    assert deliveries(portal, paid.receipt_number, "email") == []

    settings = portal.runtime.settings
    handler = receipt_email_handler(settings, portal.runtime.mailer)
    outbox.deliver_due(portal.factory, {"receipt_email": handler})
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in portal.mail_dir.glob("*.eml")
    ]
    ours = [m for m in messages if m["To"] == "someone.else@example.org"]
    assert len(ours) == 1
    message = ours[0]
    assert isinstance(message, EmailMessage)
    assert paid.receipt_number in message["Subject"]
    (pdf,) = message.iter_attachments()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")
    # Logged when sent (the payment's own email to the payer is logged beside it).
    logged = {d.destination for d in deliveries(portal, paid.receipt_number, "email")}
    assert logged == {"someone.else@example.org", "Jane.Doe@Example.com"}


def test_email_is_rate_limited_per_receipt(portal: Portal) -> None:
    client, paid = proven(portal)
    token = csrf_from(client.get(f"/receipts/{paid.receipt_number}").text)
    url = f"/receipts/{paid.receipt_number}/email"
    for _ in range(5):
        assert (
            client.post(url, data={"csrf_token": token, "email": "a@example.com"}).status_code
            == 303
        )
    limited = client.post(url, data={"csrf_token": token, "email": "a@example.com"})
    assert limited.status_code == 429
    assert "emailed too many times. Try again in" in limited.text


def test_email_needs_proof(portal: Portal) -> None:
    paid = pay_cash(portal)
    client = browser(portal)
    token = csrf_from(client.get("/status").text)
    response = client.post(
        f"/receipts/{paid.receipt_number}/email",
        data={"csrf_token": token, "email": "x@example.com"},
    )
    assert response.status_code == 404


def test_receipt_page_in_french(portal: Portal) -> None:
    client, paid = proven(portal, 123_456, lang="fr")
    html = client.get(f"/receipts/{paid.receipt_number}").text
    assert 'lang="fr"' in html
    assert "Télécharger le PDF" in html and "M’envoyer ce reçu par courriel" in html
    assert "1\u00a0234,56\u00a0$" in html
