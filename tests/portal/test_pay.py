"""Check and pay through the sandbox's hosted card page: one payment, whatever the browser does."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from shared.context_ref import read_ref
from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour
from shared.models import Account, Invoice, InvoiceStatus, Payment, PaymentStatus
from shared.payments.recovery import recover
from tests.portal.conftest import Portal, csrf_from
from tests.portal.test_find import find, fresh_rate_limits, make_account

__all__ = ["fresh_rate_limits"]


def card(behaviour: Behaviour) -> str:
    return next(c.number for c in SANDBOX_CARDS if c.behaviour is behaviour)


def key_of(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found
    return found.group(1)


def choose(portal: Portal, client: TestClient) -> tuple[list[str], list[str]]:
    """Tax (part payment, pays 1,000.00 of 1,500.00) and water (in full) in one basket."""
    tax, (tax_bill,) = make_account(portal, (150000,), department="Property tax")
    water, (water_bill,) = make_account(
        portal, (4550,), department="Water", partial=False, access_code="W1"
    )
    assert find(client, tax, "4821").status_code == 303
    assert find(client, water, "W1").status_code == 303
    page = client.get("/basket").text
    done = client.post(
        "/basket",
        data={
            "csrf_token": csrf_from(page),
            "pay": [tax_bill, water_bill],
            f"amount-{tax_bill}": "1000",
        },
    )
    assert done.status_code == 303
    return [tax, water], [tax_bill, water_bill]


def start(client: TestClient, email: str = "") -> httpx.Response:
    check = client.get("/check")
    assert check.status_code == 200
    return client.post(
        "/pay",
        data={
            "csrf_token": csrf_from(check.text),
            "idempotency_key": key_of(check.text),
            "email": email,
        },
    )


def hosted(client: TestClient, url: str, number: str) -> str:
    """Type a card on the gateway's page; returns where the gateway sends the browser."""
    assert url.startswith("http://testserver/sandbox-gateway/pay/")
    page = client.get(url)
    assert page.status_code == 200
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert form_token
    sent = client.post(
        url,
        data={
            "form_token": form_token.group(1),
            "name": "Test Payer",
            "number": number,
            "expiry": "12/35",
            "cvc": "123",
        },
    )
    assert sent.status_code == 303, sent.text
    return str(sent.headers["location"])


def pay(client: TestClient, behaviour: Behaviour, email: str = "") -> httpx.Response:
    started = start(client, email)
    assert started.status_code == 303
    return client.get(hosted(client, started.headers["location"], card(behaviour)))


def payments_for(portal: Portal, invoice_number: str) -> list[Payment]:
    with portal.factory() as db:
        invoice = db.scalars(select(Invoice).where(Invoice.invoice_number == invoice_number)).one()
        return list(
            db.scalars(
                select(Payment)
                .join(Payment.allocations)
                .where(Payment.allocations.any(invoice_id=invoice.id))
                .distinct()
            )
        )


def test_full_card_journey(portal: Portal, client: TestClient) -> None:
    accounts, (tax_bill, water_bill) = choose(portal, client)
    back = pay(client, Behaviour.APPROVE, email="jane@example.com")
    assert back.status_code == 303
    assert back.headers["location"].startswith("http://testserver/payments/TX-")
    confirmation = client.get(back.headers["location"])
    assert confirmation.status_code == 200
    html = confirmation.text
    receipt = re.search(r"R-\d{4}-\d{6}", html)
    assert receipt
    assert f'href="http://testserver/receipts/{receipt.group(0)}"' in html
    assert "Property tax" in html and "Water" in html
    assert "$1,000.00" in html and "$45.50" in html and "$1,045.50" in html
    assert "4242" in html and "4242424242424242" not in html
    context = re.search(r'data-context="([^"]+)"', html)
    assert context is not None
    secret = portal.runtime.settings.secret_key
    assert read_ref(secret, context.group(1)) == (
        "transaction",
        back.headers["location"].rsplit("/", 1)[1],
    )
    with portal.factory() as db:
        tax = db.scalars(select(Invoice).where(Invoice.invoice_number == tax_bill)).one()
        water = db.scalars(select(Invoice).where(Invoice.invoice_number == water_bill)).one()
        assert tax.owing == 50000 and tax.status is InvoiceStatus.OPEN
        assert water.owing == 0 and water.status is InvoiceStatus.PAID
        balances = db.scalars(
            select(Account.balance).where(Account.account_number.in_(accounts))
        ).all()
        assert sorted(balances) == [0, 50000]
    # The basket is emptied once paid.
    assert client.get("/basket").headers["location"] == "http://testserver/find"


def test_declined_then_approved(portal: Portal, client: TestClient) -> None:
    _, (tax_bill, _) = choose(portal, client)
    first_key = key_of(client.get("/check").text)
    declined = pay(client, Behaviour.INSUFFICIENT)
    assert declined.headers["location"] == "http://testserver/check"
    check = client.get("/check").text
    assert "not enough funds" in check and "No money was taken" in check
    assert key_of(check) != first_key
    approved = pay(client, Behaviour.APPROVE)
    assert approved.headers["location"].startswith("http://testserver/payments/")
    assert "Payment received" in client.get(approved.headers["location"]).text
    statuses = sorted(p.status for p in payments_for(portal, tax_bill))
    assert statuses == [PaymentStatus.DECLINED, PaymentStatus.POSTED]


def test_timeout_shows_confirming_until_recovered(portal: Portal, client: TestClient) -> None:
    _, (tax_bill, _) = choose(portal, client)
    back = pay(client, Behaviour.TIMEOUT_APPROVE)
    url = back.headers["location"]
    assert url.startswith("http://testserver/payments/")
    waiting = client.get(url)
    assert waiting.status_code == 200
    html = waiting.text
    assert "We are confirming your payment" in html
    assert "failed" not in html.lower()
    assert 'hx-trigger="every 3s"' in html and 'aria-live="polite"' in html
    assert f'hx-get="{url}"' in html
    assert f'href="{url}"' in html  # the no-JS refresh link
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="pay-outcome"')
    assert "HX-Request" in fragment.headers["vary"]
    assert recover(portal.factory, portal.runtime.gateway, dt.timedelta(0)) >= 1
    resolved = client.get(url, headers={"HX-Request": "true"})
    assert "Payment received" in resolved.text
    assert "hx-trigger" not in resolved.text  # polling stops
    assert [p.status for p in payments_for(portal, tax_bill)] == [PaymentStatus.POSTED]
    assert client.get("/basket").headers["location"] == "http://testserver/find"


def test_double_submit_and_repeated_return_make_one_payment(
    portal: Portal, client: TestClient
) -> None:
    _, (tax_bill, _) = choose(portal, client)
    check = client.get("/check").text
    csrf, key = csrf_from(check), key_of(check)
    first = start(client)
    second = start(client)  # a double click, or a retried POST
    assert first.status_code == second.status_code == 303
    back = client.get(hosted(client, second.headers["location"], card(Behaviour.APPROVE)))
    target = back.headers["location"]
    # The return URL again (refresh), and the other hosted page completed late.
    assert client.get(back.url).headers["location"] == target
    late = client.get(hosted(client, first.headers["location"], card(Behaviour.APPROVE)))
    assert late.headers["location"] == target
    # The old check form posted again (back button): nothing is left to pay.
    again = client.post("/pay", data={"csrf_token": csrf, "idempotency_key": key})
    assert again.status_code == 303
    assert not again.headers["location"].startswith("http://testserver/sandbox-gateway")
    assert len(payments_for(portal, tax_bill)) == 1
    assert portal.runtime.sandbox is not None
    payment = payments_for(portal, tax_bill)[0]
    with portal.runtime.sandbox.store.transaction() as db:
        from shared.gateway.sandbox.store import Payment as ProcessorPayment

        charges = db.scalar(
            select(func.count())
            .select_from(ProcessorPayment)
            .where(ProcessorPayment.our_key == payment.idempotency_key)
        )
    assert charges == 1


def test_another_browser_cannot_see_the_payment(portal: Portal, client: TestClient) -> None:
    choose(portal, client)
    url = pay(client, Behaviour.APPROVE).headers["location"]
    assert client.get(url).status_code == 200
    stranger = portal.client().get(url)
    assert stranger.status_code == 404
    assert 'href="http://testserver/status"' in stranger.text
    assert not re.search(r"R-\d{4}-\d{6}", stranger.text)  # no receipt number leaks


def test_pay_needs_csrf_and_the_current_key(portal: Portal, client: TestClient) -> None:
    choose(portal, client)
    check = client.get("/check").text
    assert client.post("/pay", data={"idempotency_key": key_of(check)}).status_code == 403
    stale = client.post(
        "/pay", data={"csrf_token": csrf_from(check), "idempotency_key": "not-the-key"}
    )
    assert stale.headers["location"] == "http://testserver/check"
    assert "Your basket changed" in client.get("/check").text


def test_bad_email_is_refused(portal: Portal, client: TestClient) -> None:
    choose(portal, client)
    answer = start(client, email="not an email")
    assert answer.status_code == 422
    assert 'href="#pay-email"' in answer.text


def test_cancel_on_the_card_page_keeps_the_basket(portal: Portal, client: TestClient) -> None:
    choose(portal, client)
    url = start(client).headers["location"]
    page = client.get(url).text
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert form_token
    cancelled = client.post(url + "/cancel", data={"form_token": form_token.group(1)})
    back = client.get(cancelled.headers["location"])
    assert back.status_code == 200
    assert "You cancelled the card payment" in back.text


def _one_permit(portal: Portal, client: TestClient, number: str, bill: str) -> None:
    assert find(client, number, "4821").status_code == 303
    page = client.get("/basket").text
    chosen = client.post("/basket", data={"csrf_token": csrf_from(page), "pay": [bill]})
    assert chosen.status_code == 303


def test_a_second_browser_is_told_the_bill_is_being_confirmed_and_is_not_charged(
    portal: Portal,
) -> None:
    """Two browsers pay one $323.00 permit. The first one's card payment is in doubt (the
    processor timed out): the second browser, already on its card page, is refused with
    words saying so, and then cannot choose the bill at all until the first resolves."""
    first, second = portal.client(), portal.client()
    number, (bill,) = make_account(portal, (32_300,), department="Permits", partial=False)
    _one_permit(portal, first, number, bill)
    _one_permit(portal, second, number, bill)
    second_card_page = start(second)
    assert second_card_page.status_code == 303
    assert (
        pay(first, Behaviour.TIMEOUT_APPROVE)
        .headers["location"]
        .startswith("http://testserver/payments/")
    )
    back = second.get(hosted(second, second_card_page.headers["location"], card(Behaviour.APPROVE)))
    assert back.headers["location"] == "http://testserver/basket"
    basket = second.get("/basket").text
    assert "A payment of $323.00 for bill" in basket and "is being confirmed" in basket
    assert "There is no need to pay it again." in basket
    box = re.search(rf'<input type="checkbox" name="pay" value="{bill}"[^>]*>', basket)
    assert box is not None and "disabled" in box.group(0)
    again = second.post("/basket", data={"csrf_token": csrf_from(basket), "pay": [bill]})
    assert again.status_code == 422 and "is being confirmed" in again.text
    assert [p.status for p in payments_for(portal, bill)] == [PaymentStatus.UNKNOWN]
    # Once the processor's answer is in, the bill is paid, once.
    assert recover(portal.factory, portal.runtime.gateway, dt.timedelta(0)) >= 1
    assert [p.status for p in payments_for(portal, bill)] == [PaymentStatus.POSTED]
    assert "is being confirmed" not in second.get("/basket").text


@pytest.mark.parametrize(
    "typed", ["4111111111111111@example.com", "4111-1111-1111-1111@example.com"]
)
def test_a_card_number_in_the_email_is_refused(
    portal: Portal, client: TestClient, typed: str
) -> None:
    choose(portal, client)
    answer = start(client, email=typed)
    assert answer.status_code == 422
    assert "This looks like a card number." in answer.text
    # Not echoed back (a bill number on the page may happen to hold "4111").
    assert typed not in answer.text and typed.split("@")[0] not in answer.text
