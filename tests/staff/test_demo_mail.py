"""The demo's mail viewer: what the simulated mailer kept, for staff to open."""

from __future__ import annotations

import dataclasses
import re
from email.message import EmailMessage

from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from shared.messaging.mailer import FileMailer
from tests.support.apps import BASE_URL

from .conftest import Console, sign_in, signed_in


def _receipt_mail(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Riverton Payments <payments@riverton.example>"
    message["To"] = to
    message["Subject"] = "Your receipt R-2026-000777"
    message.set_content("Thank you for your payment.")
    message.add_attachment(
        b"%PDF-1.3 receipt", maintype="application", subtype="pdf", filename="R-2026-000777.pdf"
    )
    return message


def test_each_kept_message_is_listed_with_its_attachment(console: Console) -> None:
    FileMailer(console.runtime.settings.var_dir / "mail").send(_receipt_mail("ana@example.com"))
    client, _ = signed_in(console, ["agent"])
    home = client.get("/staff/")
    assert 'href="http://testserver/staff/demo-mail"' in home.text
    inbox = client.get("/staff/demo-mail")
    assert inbox.status_code == 200
    assert "ana@example.com" in inbox.text
    assert "Your receipt R-2026-000777" in inbox.text
    assert "R-2026-000777.pdf" in inbox.text
    assert "(Coordinated Universal Time)" in inbox.text  # PAYDESK_TIMEZONE, named
    (message_link,) = re.findall(r'href="http://testserver(/staff/demo-mail/[^"/]+)"', inbox.text)
    opened = client.get(message_link)
    assert opened.status_code == 200
    assert "Thank you for your payment." in opened.text
    (pdf_link,) = re.findall(
        r'href="http://testserver(/staff/demo-mail/[^"]+/attachments/0)"', opened.text
    )
    pdf = client.get(pdf_link)
    assert pdf.status_code == 200
    assert pdf.content == b"%PDF-1.3 receipt"
    assert pdf.headers["content-type"] == "application/pdf"


def test_the_viewer_needs_a_signed_in_member_of_staff(console: Console) -> None:
    response = console.client().get("/staff/demo-mail")
    assert response.status_code == 303
    assert "/staff/login" in response.headers["location"]


def test_only_names_the_mailer_writes_are_opened(console: Console) -> None:
    client, _ = signed_in(console, ["agent"])
    for name in ("..%2Fsecret_key", "secret_key", "20260101T000000000000-zzzzzzzz.eml"):
        assert client.get(f"/staff/demo-mail/{name}").status_code == 404


def test_with_real_smtp_there_is_no_viewer(console: Console) -> None:
    smtp = dataclasses.replace(
        console.runtime, settings=console.runtime.settings.with_(mail_backend="smtp")
    )
    client = TestClient(asgi(create_app(smtp)), base_url=BASE_URL, follow_redirects=False)
    sign_in(client, console.user(["agent"]))
    assert "demo-mail" not in client.get("/staff/").text
    assert client.get("/staff/demo-mail").status_code == 404
