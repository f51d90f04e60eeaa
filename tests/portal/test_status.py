"""'Did my payment go through?' through the whole stack: look-ups, proof, rate limits."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass

import httpx2 as httpx
import pytest
from sqlalchemy import delete, select
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from portal import receipt_views
from shared.actors import SYSTEM, Actor, ActorType
from shared.context_ref import read_ref
from shared.identifiers import transaction_id
from shared.models import Channel, Payment, PaymentStatus, RateLimitWindow, Tender
from shared.payments import states as payment_states
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.rate_limit import Limit
from shared.receipts import numbering as receipts
from tests import factories
from tests.portal.conftest import BASE_URL, Portal, csrf_from
from tests.shared.no_gateway import NoGateway

CASHIER = Actor(ActorType.STAFF, "cashier1")


@dataclass(frozen=True)
class Paid:
    receipt_number: str
    transaction_id: str


def pay_cash(portal: Portal, amount: int = 1_234, email: str = "Jane.Doe@Example.com") -> Paid:
    """A real, posted cash payment with a receipt."""
    with portal.factory() as db:
        (bill,) = factories.bills(db, [amount])
        outcome = take_payment(
            db,
            NoGateway(),
            PaymentRequest(
                items=(Item(bill.invoice_number),),
                tender=Tender.CASH,
                channel=Channel.COUNTER,
                idempotency_key=str(uuid.uuid4()),
                currency="CAD",
                cash_tendered=amount,
                payer_email=email,
            ),
            CASHIER,
        )
        assert outcome.receipt is not None
        return Paid(outcome.receipt.receipt_number, outcome.payment.transaction_id)


def card_payment(
    portal: Portal, status: PaymentStatus, amount: int = 5_000, last4: str | None = None
) -> str:
    """A card payment left in `status` without a receipt (declined, unknown …)."""
    with portal.factory() as db:
        payment = Payment(
            transaction_id=transaction_id(),
            idempotency_key=str(uuid.uuid4()),
            channel=Channel.PORTAL,
            amount=amount,
            currency="CAD",
            tender=Tender.CARD,
            status=PaymentStatus.PENDING,
            payer_email="card@example.com",
            card_last4=last4,
        )
        db.add(payment)
        db.flush()
        if status is not PaymentStatus.PENDING:
            payment_states.move(db, payment, status, SYSTEM)
        db.commit()
        return payment.transaction_id


def settle(portal: Portal, tx: str) -> None:
    with portal.factory() as db:
        payment = db.scalars(select(Payment).where(Payment.transaction_id == tx)).one()
        payment_states.move(db, payment, PaymentStatus.SETTLED, SYSTEM)
        db.commit()


def browser(portal: Portal) -> TestClient:
    """A new browser from an address of its own, so per-client limits do not collide."""
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    app = asgi(create_app(portal.runtime))
    return TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(address, 50000))


EMAIL = "jane.doe@example.com"  # pay_cash's payer, in other case


def look_up(
    client: TestClient, reference: str, amount: str, check: str = "", lang: str = "en"
) -> httpx.Response:
    form = client.get("/status", params={"lang": lang})
    assert form.status_code == 200
    data = {"reference": reference, "amount": amount, "check": check}
    return client.post("/status", data={"csrf_token": csrf_from(form.text), **data})


def prove(
    client: TestClient, reference: str, amount: str, check: str = "", lang: str = "en"
) -> str:
    """Look a payment up successfully; returns the result page's HTML."""
    response = look_up(client, reference, amount, check, lang)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    return page.text


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


NOT_FOUND = "We could not find a payment with those details."


def test_by_receipt_number_amount_and_email(portal: Portal) -> None:
    paid = pay_cash(portal, 1_234)
    client = browser(portal)
    page = text_of(prove(client, paid.receipt_number.lower(), "12.34", f" {EMAIL.upper()} "))
    assert "Your payment of $12.34 was received on" in page
    assert "and applied to your account on" in page
    assert "The funds reached the city" not in page
    assert paid.transaction_id in page
    assert (
        f'href="{BASE_URL}/receipts/{paid.receipt_number}"'
        in client.get(f"/status/{paid.transaction_id}").text
    )


def test_a_receipt_number_and_amount_alone_are_not_enough(portal: Portal) -> None:
    """Receipt numbers run in sequence and fees are fixed: both are easy to guess."""
    paid = pay_cash(portal, 1_234)
    client = browser(portal)
    token = csrf_from(client.get("/status").text)
    # As the form before asked: the number, and the amount as the only proof.
    data = {"reference": paid.receipt_number, "factor": "12.34", "amount": "12.34"}
    answer = client.post("/status", data={"csrf_token": token, **data})
    assert answer.status_code == 422
    assert "With a receipt number, also enter the email address" in answer.text
    assert 'href="#check"' in answer.text
    assert client.get(f"/receipts/{paid.receipt_number}").status_code == 404


def test_by_receipt_number_and_the_card_s_last_4(portal: Portal) -> None:
    tx = card_payment(portal, PaymentStatus.DECLINED, amount=4_200, last4="4242")
    with portal.factory() as db:
        payment = db.scalars(select(Payment).where(Payment.transaction_id == tx)).one()
        receipt_number = receipts.issue(db, payment, SYSTEM).receipt_number
        db.commit()
    assert look_up(browser(portal), receipt_number, "42.00", "1881").status_code == 422
    page = text_of(prove(browser(portal), receipt_number, "42.00", "4242"))
    assert "This payment did not go through" in page


def test_by_transaction_id_and_french_amount(portal: Portal) -> None:
    paid = pay_cash(portal, 1_234)
    page = text_of(prove(browser(portal), paid.transaction_id, "12,34 $", lang="fr"))
    assert "Votre paiement de 12,34" in page
    assert "a été reçu le" in page


def test_by_transaction_id_an_email_given_must_match(portal: Portal) -> None:
    paid = pay_cash(portal, 2_000, email="Jane.Doe@Example.com")
    page = text_of(prove(browser(portal), paid.transaction_id, "20", "  jane.doe@EXAMPLE.com "))
    assert "Your payment of $20.00 was received" in page
    wrong = look_up(browser(portal), paid.transaction_id, "20", "john@example.com")
    assert wrong.status_code == 422


def test_wrong_reference_and_wrong_proof_look_the_same(portal: Portal) -> None:
    paid = pay_cash(portal, 1_500)
    client = browser(portal)
    wrong_amount = look_up(client, paid.receipt_number, "15.01", EMAIL)
    wrong_email = look_up(client, paid.receipt_number, "15.00", "someone@example.com")
    unknown = look_up(client, "R-2099-999999", "15.00", EMAIL)

    def body(response: httpx.Response) -> str:
        return re.sub(r'value="[^"]*"', "", response.text)

    assert wrong_amount.status_code == wrong_email.status_code == unknown.status_code == 422
    assert NOT_FOUND in wrong_amount.text
    assert body(wrong_amount).replace(paid.receipt_number, "R-2099-999999") == body(unknown)
    assert body(wrong_email) == body(wrong_amount)
    # Nothing was proven: the receipt stays hidden.
    assert client.get(f"/receipts/{paid.receipt_number}").status_code == 404


def test_input_errors_are_summarised_and_linked(portal: Portal) -> None:
    response = look_up(browser(portal), "hello", "", "12")
    assert response.status_code == 422
    html = response.text
    assert '<div class="error-summary" role="alert"' in html
    assert 'href="#reference"' in html and 'href="#amount"' in html and 'href="#check"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="reference-hint reference-error"' in html
    assert "Enter the amount you paid." in html


def test_failures_are_limited_per_reference_over_every_address(portal: Portal) -> None:
    paid = pay_cash(portal, 1_000)
    for attempt in range(5):
        wrong = look_up(browser(portal), paid.receipt_number, "10.00", f"12{attempt}4")
        assert wrong.status_code == 422
    limited = look_up(browser(portal), paid.receipt_number, "10.00", EMAIL)
    assert limited.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in limited.text
    # The right answer is refused too while the window is closed.
    assert paid.transaction_id not in limited.headers.get("location", "")


def test_successes_never_count(portal: Portal) -> None:
    paid = pay_cash(portal, 1_000)
    client = browser(portal)
    for _ in range(25):
        assert look_up(client, paid.receipt_number, "10.00", EMAIL).status_code == 303


def test_failures_are_limited_per_client(portal: Portal) -> None:
    client = browser(portal)
    for n in range(20):
        assert look_up(client, f"R-2098-{n:06d}", "1.00", EMAIL).status_code == 422
    limited = look_up(client, "R-2098-999999", "1.00", EMAIL)
    assert limited.status_code == 429
    assert "Try again in" in limited.text
    # Another browser is not affected.
    assert look_up(browser(portal), "R-2098-999999", "1.00", EMAIL).status_code == 422


def test_a_ceiling_over_every_address(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        receipt_views, "STATUS_FAILURES_EVERYWHERE", Limit(4, dt.timedelta(minutes=15))
    )
    paid = pay_cash(portal, 1_000)
    for n in range(4):
        look_up(browser(portal), f"R-2097-{n:06d}", "1.00", EMAIL)
    assert look_up(browser(portal), paid.receipt_number, "10.00", EMAIL).status_code == 429
    with portal.factory() as db:
        db.execute(delete(RateLimitWindow))
        db.commit()


def test_settled_payment_says_the_funds_arrived(portal: Portal) -> None:
    paid = pay_cash(portal, 7_500)
    settle(portal, paid.transaction_id)
    page = text_of(prove(browser(portal), paid.receipt_number, "75", EMAIL))
    assert "The funds reached the city on" in page
    assert "Not yet" not in page


@pytest.mark.parametrize("status", [PaymentStatus.UNKNOWN, PaymentStatus.PENDING])
def test_unknown_is_never_failed(portal: Portal, status: PaymentStatus) -> None:
    tx = card_payment(portal, status)
    html = prove(browser(portal), tx, "50", "card@example.com")
    page = text_of(html).lower()
    assert "we are still confirming this payment with the card processor" in page
    assert "fail" not in page and "did not go through" not in page
    assert 'hx-trigger="every 15s"' in html and "Check again" in html


def test_declined_payment_did_not_go_through(portal: Portal) -> None:
    tx = card_payment(portal, PaymentStatus.DECLINED, amount=4_200)
    page = text_of(prove(browser(portal), tx, "42.00"))
    assert "This payment did not go through. Nothing was charged." in page
    assert "See your receipt" not in page


def test_result_page_needs_proof(portal: Portal) -> None:
    paid = pay_cash(portal, 3_000)
    response = browser(portal).get(f"/status/{paid.transaction_id}")
    assert response.status_code == 404
    assert 'href="http://testserver/status"' in response.text
    assert paid.receipt_number not in response.text


def test_spanish_result_and_signed_help_context(portal: Portal) -> None:
    paid = pay_cash(portal, 1_234)
    html = prove(browser(portal), paid.receipt_number, "12,34", EMAIL, lang="es")
    assert "Su pago de" in text_of(html)
    context = re.search(r'data-context="([^"]+)"', html)
    assert context is not None
    assert read_ref("portal-tests", context.group(1)) == ("transaction", paid.transaction_id)
