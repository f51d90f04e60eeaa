"""Contact support: a request in the queue linked to what the page showed, its reference
shown, a confirmation queued; mistakes explained; robots, floods and stale forms refused."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select
from starlette.testclient import TestClient

from shared.interactions import support
from shared.models import (
    InteractionChannel,
    LinkKind,
    OutboxMessage,
    SupportPriority,
    SupportRequest,
)
from support_widget.guard import form_token as issue_form_token
from tests.support_widget.conftest import HX, Widget, expired, form_token, pay

_people = itertools.count(1)
GOOD = {
    "name": "Ana Resident",
    "email": "ana@example.com",
    "phone": "",
    "language": "fr",
    "method": "email",
    "message": "My card 4111 1111 1111 1111 shows two charges.",
    "reference": "R-2030-000777",
}


def _form(browser: TestClient, ctx: str = "") -> str:
    response = browser.get("/support/contact", params={"ctx": ctx}, headers=HX)
    assert response.status_code == 200
    return form_token(response.text)


def _send(browser: TestClient, ctx: str = "", **changes: str) -> tuple[int, str]:
    # An address of its own each time, unless the test chooses one: the per-address limit.
    email = f"ana.{next(_people)}@example.com"
    data = {**GOOD, "email": email, "ctx": ctx, "form_token": _form(browser, ctx), **changes}
    response = browser.post("/support/contact", data=data, headers=HX)
    return response.status_code, response.text


def _requests(widget: Widget) -> int:
    with widget.factory() as db:
        return int(db.scalar(select(func.count()).select_from(SupportRequest)) or 0)


def _reference(text: str) -> str:
    start = text.index('class="pd-reference">') + len('class="pd-reference">')
    return text[start : text.index("<", start)]


def test_a_request_lands_in_the_queue_with_the_pages_records(
    widget: Widget, browser: TestClient
) -> None:
    paid = pay(widget)
    assert paid.receipt_number
    status, text = _send(browser, widget.ctx("receipt", paid.receipt_number))
    assert status == 200
    reference = _reference(text)
    assert reference.startswith("S-") and "We are sending a confirmation to ana." in text
    with widget.factory() as db:
        made = support.get(db, reference)
        assert made is not None
        assert made.interaction.staff_user_id is None
        assert made.interaction.channel is InteractionChannel.WEB
        assert made.interaction.customer_id == paid.customer_id
        assert {(ln.kind, ln.reference) for ln in made.interaction.links} == {
            (LinkKind.PAYMENT, paid.transaction_id),
            (LinkKind.RECEIPT, paid.receipt_number),
        }
        assert made.unverified_reference == "R-2030-000777"
        assert "4111 1111 1111 1111" not in made.message
        assert (made.contact_locale, made.priority) == ("fr", SupportPriority.NORMAL)
        confirmation = db.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "support_email")
        ).all()
        assert {
            "request_id": made.id,
            "kind": "confirmation",
            "to": made.contact_email,
            "locale": "fr",
        } in [m.payload for m in confirmation]


def test_a_reported_duplicate_is_high_priority(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget)
    status, text = _send(browser, widget.ctx("transaction", paid.transaction_id), topic="duplicate")
    assert status == 200
    with widget.factory() as db:
        made = support.get(db, _reference(text))
        assert made is not None and made.priority is SupportPriority.HIGH
        assert made.topic == "duplicate"


def test_a_forged_or_expired_context_attaches_nothing(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget)
    assert paid.receipt_number
    for ctx in (
        expired(widget, "receipt", paid.receipt_number),
        widget.ctx("receipt", paid.receipt_number)[:-3] + "abc",
    ):
        status, text = _send(widget.browser(), ctx)
        assert status == 200
        with widget.factory() as db:
            made = support.get(db, _reference(text))
            assert made is not None
            assert made.interaction.links == []
            assert made.interaction.customer_id is None and made.context_kind is None


def test_mistakes_are_explained_field_by_field(widget: Widget, browser: TestClient) -> None:
    before = _requests(widget)
    status, text = _send(
        browser, name="", email="ana@", phone="12", message="", language="de", method="phone"
    )
    assert status == 422
    for message in (
        "Enter your name.",
        "That is not a complete email address.",
        "Enter a phone number, like 613 555 0100.",
        "Write your question.",
        "Choose a language from the list.",
    ):
        assert message in text
    assert 'href="#contact-name"' in text and 'aria-invalid="true"' in text
    status, text = _send(browser, email="", phone="", method="email")
    assert status == 422 and "Give an email address or a phone number, or both." in text
    status, text = _send(browser, email="", phone="613 555 0100", method="email")
    assert status == 422 and "To be answered by email, give your email address." in text
    assert _requests(widget) == before


def test_a_card_number_typed_in_a_refused_form_is_not_shown_back(browser: TestClient) -> None:
    status, text = _send(browser, name="")
    assert status == 422
    assert "4111 1111 1111 1111" not in text and "shows two charges" in text


def test_by_phone_only(widget: Widget, browser: TestClient) -> None:
    status, text = _send(browser, email="", phone="+1 (613) 555-0100", method="phone")
    assert status == 200 and "We will call you back." in text
    with widget.factory() as db:
        made = support.get(db, _reference(text))
        assert made is not None and made.contact_email is None


def test_a_robot_filling_the_hidden_field_is_thanked_and_forgotten(
    widget: Widget, browser: TestClient
) -> None:
    before = _requests(widget)
    status, text = _send(browser, website="http://spam.example")
    assert status == 200 and "Thank you. Your message was sent." in text
    assert "S-" not in text
    assert _requests(widget) == before


def test_a_form_needs_a_fresh_token_of_ours(widget: Widget, browser: TestClient) -> None:
    before = _requests(widget)
    secret = widget.runtime.settings.secret_key
    stale = issue_form_token(secret, dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
    for token in ("", "123.abc", stale, issue_form_token("another-secret")):
        response = browser.post("/support/contact", data={**GOOD, "form_token": token}, headers=HX)
        assert response.status_code == 400
        assert "This form has expired" in response.text
    assert _requests(widget) == before


def test_one_address_cannot_flood_the_queue(widget: Widget) -> None:
    browser = widget.browser()
    statuses = [_send(browser, email=f"person{n}@example.com")[0] for n in range(6)]
    assert statuses == [200] * 5 + [429]
    status, text = _send(browser)
    assert status == 429 and "Try again in" in text


def test_one_email_address_cannot_flood_the_queue(widget: Widget) -> None:
    statuses = [_send(widget.browser(), email="same.person@example.com")[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_without_javascript_the_same_screens_are_pages(widget: Widget, browser: TestClient) -> None:
    page = browser.get("/support/contact")
    assert page.status_code == 200
    assert page.text.lstrip().startswith("<!doctype html>")
    assert '<h1 id="pd-title"' in page.text and "data-widget-close" not in page.text
    data = {**GOOD, "form_token": form_token(page.text)}
    done = browser.post("/support/contact", data=data)
    assert done.status_code == 200 and "<!doctype html>" in done.text
    assert "Your reference is" in done.text
    # No cookie is kept for any of it.
    assert "set-cookie" not in {k.lower() for k in page.headers}
    assert "set-cookie" not in {k.lower() for k in done.headers}
