"""Find what I owe: a number from the bill plus a second factor, rate-limited, no enumeration.

The helpers here are used by the basket and pay tests too."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import delete, select
from starlette.testclient import TestClient

from portal import find_views
from shared.models import AccountStatus, RateLimitWindow
from shared.rate_limit import Limit
from tests import factories
from tests.portal.conftest import Portal, csrf_from


@pytest.fixture(autouse=True)
def fresh_rate_limits(portal: Portal) -> None:
    """Every TestClient comes from the same address; each test starts with a clean count."""
    with portal.factory() as db:
        db.execute(delete(RateLimitWindow))
        db.commit()


def make_account(
    portal: Portal,
    amounts: tuple[int, ...] = (12345,),
    *,
    partial: bool = True,
    status: AccountStatus = AccountStatus.ACTIVE,
    reason: str | None = None,
    department: str = "Tax",
    access_code: str = "4821",
) -> tuple[str, list[str]]:
    """A customer (Jane Smith, K1A 0B1) with one account and its open bills."""
    with portal.factory() as db:
        cust = factories.customer(db)
        dept = factories.department(db, name=department)
        fee = factories.fee_type(db, dept, allows_partial=partial)
        acc = factories.account(db, cust, dept, status, access_code)
        acc.status_reason = reason
        invoices = [factories.invoice(db, acc, fee, amount) for amount in amounts]
        db.commit()
        return acc.account_number, [inv.invoice_number for inv in invoices]


def find(client: TestClient, number: str, factor: str) -> httpx.Response:
    form = client.get("/find")
    assert form.status_code == 200
    return client.post(
        "/find", data={"csrf_token": csrf_from(form.text), "number": number, "factor": factor}
    )


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_the_home_page_has_the_find_form(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'action="http://testserver/find"' in page.text
    assert csrf_from(page.text)


@pytest.mark.parametrize("by", ["account", "invoice"])
@pytest.mark.parametrize("factor", ["4821", "k1a0b1", " K1A 0B1 "])
def test_find_by_account_or_bill_with_code_or_postal_code(
    portal: Portal, client: TestClient, by: str, factor: str
) -> None:
    account, invoices = make_account(portal, (12345, 2500))
    number = account if by == "account" else invoices[1]
    found = find(client, number.lower(), factor)
    assert found.status_code == 303
    assert found.headers["location"] == "http://testserver/basket"
    basket = client.get("/basket")
    assert basket.status_code == 200
    assert account in basket.text
    assert "J*** S***" in basket.text
    assert "Jane Smith" not in basket.text
    assert "$123.45" in basket.text and "$25.00" in basket.text
    assert all(number in basket.text for number in invoices)


def test_wrong_number_and_wrong_code_look_the_same(portal: Portal, client: TestClient) -> None:
    account, _ = make_account(portal)
    wrong_code = find(client, account, "9999")
    wrong_number = find(client, "ACC-NOPE-0000", "4821")
    assert wrong_code.status_code == wrong_number.status_code == 422
    assert without_csrf(wrong_code.text) == without_csrf(wrong_number.text)
    assert "We could not find a bill with those details" in wrong_code.text
    assert 'class="error-summary"' in wrong_code.text
    assert 'href="#find-number"' in wrong_code.text
    # Another browser, so the CSRF token differs too: the rest is still the same.
    other = find(portal.client(), "ACC-NOPE-0001", "4821")
    assert without_csrf(other.text) == without_csrf(wrong_code.text)


def test_empty_fields_are_named(client: TestClient) -> None:
    answer = find(client, "", "")
    assert answer.status_code == 422
    assert 'href="#find-number"' in answer.text and 'href="#find-factor"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert 'aria-describedby="find-number-hint find-number-error"' in answer.text


def test_wrong_codes_for_a_number_are_limited_per_address(portal: Portal) -> None:
    account, _ = make_account(portal)
    for attempt in range(5):
        # A new browser each time: the limit holds across sessions from one address.
        assert find(portal.client("10.1.0.1"), account, f"000{attempt}").status_code == 422
    limited = find(portal.client("10.1.0.1"), account, "4821")
    assert limited.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in limited.text
    assert int(limited.headers["retry-after"]) > 800
    # Other numbers from the same address still work.
    other, _ = make_account(portal)
    assert find(portal.client("10.1.0.1"), other, "4821").status_code == 303


def test_a_stranger_s_wrong_codes_never_lock_the_owner_out(portal: Portal) -> None:
    account, _ = make_account(portal)
    for attempt in range(8):
        find(portal.client("203.0.113.66"), account, f"000{attempt}")
    assert find(portal.client("203.0.113.66"), account, "4821").status_code == 429
    # The owner, at home with the right code: found.
    assert find(portal.client("198.51.100.20"), account, "4821").status_code == 303


def test_failures_are_limited_per_address(portal: Portal) -> None:
    client = portal.client("10.2.0.1")
    for attempt in range(10):
        assert find(client, f"ACC-NOPE-{attempt:04d}", "4821").status_code == 422
    account, _ = make_account(portal)
    limited = find(client, account, "4821")
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text


def test_successes_do_not_count_toward_the_limit(portal: Portal) -> None:
    """A library computer: many people find their own bills from one address."""
    accounts = [make_account(portal)[0] for _ in range(12)]
    for account in accounts:
        assert find(portal.client("10.3.0.1"), account, "4821").status_code == 303
    for attempt in range(9):
        assert find(portal.client("10.3.0.1"), f"ACC-NOPE-{attempt:04d}", "1").status_code == 422
    assert find(portal.client("10.3.0.1"), accounts[0], "4821").status_code == 303


def test_a_ceiling_over_every_address(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many addresses guessing at once: past the ceiling, every look-up waits."""
    monkeypatch.setattr(find_views, "FAILURES_EVERYWHERE", Limit(6, dt.timedelta(minutes=15)))
    account, _ = make_account(portal)
    for n in range(6):
        assert find(portal.client(f"192.0.2.{n}"), f"ACC-NOPE-{n:04d}", "1").status_code == 422
    assert find(portal.client("192.0.2.200"), account, "4821").status_code == 429


def test_rate_limit_message_in_french(portal: Portal, client: TestClient) -> None:
    client.get("/?lang=fr")
    for attempt in range(10):
        find(client, f"ACC-NOPE-{attempt:04d}", "4821")
    limited = find(client, "ACC-NOPE-9999", "4821")
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.text


def test_find_needs_the_csrf_token(client: TestClient) -> None:
    client.get("/find")
    refused = client.post("/find", data={"number": "X", "factor": "Y"})
    assert refused.status_code == 403


def test_add_another_bill_keeps_the_first(portal: Portal, client: TestClient) -> None:
    tax, _ = make_account(portal, department="Property tax")
    water, _ = make_account(portal, department="Water", access_code="7777")
    assert find(client, tax, "4821").status_code == 303
    assert 'href="http://testserver/basket"' in client.get("/find").text
    assert find(client, water, "7777").status_code == 303
    basket = client.get("/basket").text
    assert tax in basket and water in basket
    assert "Property tax" in basket and "Water" in basket


@pytest.mark.parametrize(
    "typed", ["4111111111111111", "4111 1111 1111 1111", "4111,1111,1111,1111"]
)
def test_a_card_number_in_the_find_box_is_refused_and_never_counted(
    portal: Portal, client: TestClient, typed: str
) -> None:
    answer = find(client, typed, "4821")
    assert answer.status_code == 422
    assert "This looks like a card number." in answer.text
    with portal.factory() as db:
        assert db.scalars(select(RateLimitWindow.key)).all() == []
