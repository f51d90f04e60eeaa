"""Help first: the answer chosen for each live state of the page's payment, and context
tokens that are forged, altered or expired answered exactly like no context at all."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from shared.actors import SYSTEM
from shared.exceptions import cases
from shared.gateway.sandbox.cards import Behaviour
from shared.models import Allocation, ExceptionKind, Invoice, OutboxMessage, Payment
from shared.payments import settlement
from support_widget.guard import form_token as issue_form_token
from tests.support_widget.conftest import HX, Widget, expired, form_token, pay, without_form_tokens


def _panel(browser: TestClient, ctx: str = "", lang: str = "en") -> str:
    response = browser.get("/support/", params={"ctx": ctx, "lang": lang}, headers=HX)
    assert response.status_code == 200
    return response.text


def test_without_context_the_common_questions_and_contact(browser: TestClient) -> None:
    text = _panel(browser)
    assert 'id="pd-title"' in text and "Help with a payment" in text
    assert "How do I get a copy of my receipt?" in text
    assert "Contact support" in text
    assert "pd-answer" not in text


@pytest.mark.parametrize("tamper", ["forged", "altered", "expired", "unknown"])
def test_a_bad_token_is_treated_as_no_context_and_says_nothing(
    widget: Widget, browser: TestClient, tamper: str
) -> None:
    paid = pay(widget)
    assert paid.receipt_number
    good = widget.ctx("receipt", paid.receipt_number)
    bad = {
        "forged": widget.ctx("receipt", paid.receipt_number).split(".")[0]
        + ".AAAAAAAAAAAAAAAAAAAAAA",
        "altered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "expired": expired(widget, "receipt", paid.receipt_number),
        "unknown": widget.ctx("receipt", "R-1999-000001"),
    }[tamper]
    assert paid.receipt_number in _panel(browser, good)
    shown = _panel(browser, bad)
    assert paid.receipt_number not in shown
    # Word for word what a page without context gets (but for the link carrying the token).
    assert without_form_tokens(shown).replace(f"ctx={bad}&amp;", "") == without_form_tokens(
        _panel(browser)
    )


def test_posted_says_received_and_offers_the_receipt_by_email(
    widget: Widget, browser: TestClient
) -> None:
    paid = pay(widget)
    assert paid.receipt_number
    text = _panel(browser, widget.ctx("receipt", paid.receipt_number))
    assert "Your payment was received" in text
    assert "applied to your account" in text  # the facts from the payment's status
    assert "Email my receipt to j•••@example.com" in text
    assert "jane.payer@example.com" not in text, "the address on file is never shown whole"


def test_settled_says_complete(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget, Behaviour.APPROVE)
    with widget.factory() as db:
        settlement.settle(db, widget.sandbox, SYSTEM, until=dt.datetime.now(dt.UTC))
        db.commit()
    text = _panel(browser, widget.ctx("transaction", paid.transaction_id))
    assert "Your payment is complete" in text
    assert "The funds reached the city on" in text
    assert "Email my receipt to" in text


def test_being_confirmed_says_there_is_no_need_to_pay_again(
    widget: Widget, browser: TestClient
) -> None:
    paid = pay(widget, Behaviour.TIMEOUT_APPROVE)
    text = _panel(browser, widget.ctx("transaction", paid.transaction_id))
    assert "We are still confirming your payment" in text
    assert "There is no need to pay again" in text
    assert "Email my receipt" not in text


def test_a_bill_with_a_payment_in_doubt_says_so_too(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget, Behaviour.TIMEOUT_APPROVE)
    with widget.factory() as db:
        invoice = db.scalar(
            select(Invoice.invoice_number)
            .join(Allocation, Allocation.invoice_id == Invoice.id)
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.transaction_id == paid.transaction_id)
        )
    assert invoice is not None
    assert "We are still confirming your payment" in _panel(browser, widget.ctx("invoice", invoice))


def test_declined_says_nothing_was_charged(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget, Behaviour.DECLINE)
    text = _panel(browser, widget.ctx("transaction", paid.transaction_id))
    assert "This payment did not go through" in text
    assert "Nothing was charged" in text


def test_a_possible_duplicate_comes_first_with_a_prefilled_report(
    widget: Widget, browser: TestClient
) -> None:
    first, second = pay(widget), pay(widget)
    with widget.factory() as db:
        cases.open_case(
            db,
            SYSTEM,
            ExceptionKind.POSSIBLE_DUPLICATE,
            f"{first.transaction_id}/{second.transaction_id}",
        )
        db.commit()
    text = _panel(browser, widget.ctx("transaction", second.transaction_id))
    assert text.index("Were you charged twice?") < text.index("Your payment was received")
    link = "/support/contact?ctx="
    assert link in text and "topic=duplicate" in text
    form = browser.get(
        "/support/contact",
        params={"ctx": widget.ctx("transaction", second.transaction_id), "topic": "duplicate"},
        headers=HX,
    ).text
    assert "I think I was charged twice for this payment." in form
    assert 'name="topic" value="duplicate"' in form


def test_a_write_back_not_confirmed_explains_the_balance_still_showing(
    widget: Widget, browser: TestClient
) -> None:
    paid = pay(widget, source_system="tax-billing")
    text = _panel(browser, widget.ctx("transaction", paid.transaction_id))
    assert "Still seeing a balance after paying?" in text
    assert "up to one business day" in text


def test_the_answers_speak_the_pages_language(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget)
    assert paid.receipt_number
    french = _panel(browser, widget.ctx("receipt", paid.receipt_number), lang="fr")
    assert "Votre paiement a été reçu" in french and "Aide pour un paiement" in french
    spanish = _panel(browser, widget.ctx("receipt", paid.receipt_number), lang="es")
    assert "Hemos recibido su pago" in spanish


def test_email_my_receipt_goes_to_the_address_on_file_and_is_rate_limited(
    widget: Widget,
) -> None:
    paid = pay(widget)
    assert paid.receipt_number
    ctx = widget.ctx("receipt", paid.receipt_number)
    statuses = []
    for _ in range(4):
        browser = widget.browser()  # several people, or one changing address
        token = form_token(_panel(browser, ctx))
        response = browser.post(
            "/support/receipt", data={"ctx": ctx, "form_token": token}, headers=HX
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]
    assert "emailed too many times" in response.text
    with widget.factory() as db:
        sent = db.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "receipt_email")
        ).all()
    mine = [p for p in sent if p["to"] == "jane.payer@example.com"]
    assert len(mine) >= 3


def test_email_my_receipt_without_an_address_on_file_answers_like_a_bad_token(
    widget: Widget, browser: TestClient
) -> None:
    paid = pay(widget, email=None)
    assert paid.receipt_number
    token = issue_form_token(widget.runtime.settings.secret_key)
    answers = [
        browser.post("/support/receipt", data={"ctx": ctx, "form_token": token}, headers=HX)
        for ctx in (widget.ctx("receipt", paid.receipt_number), "forged.token")
    ]
    assert [a.status_code for a in answers] == [400, 400]
    good = widget.ctx("receipt", paid.receipt_number)
    assert without_form_tokens(answers[0].text).replace(good, "") == without_form_tokens(
        answers[1].text
    ).replace("forged.token", "")
