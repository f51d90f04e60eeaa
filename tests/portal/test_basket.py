"""The basket: bills from several departments, part payments in the reader's number format."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.testclient import TestClient

from shared.models import AccountStatus
from tests.portal.conftest import Portal, csrf_from
from tests.portal.test_find import find, fresh_rate_limits, make_account

__all__ = ["fresh_rate_limits"]


def submit(client: TestClient, data: dict[str, str | list[str]]) -> httpx.Response:
    page = client.get("/basket")
    assert page.status_code == 200
    return client.post("/basket", data={"csrf_token": csrf_from(page.text), **data})


def test_two_departments_in_one_basket(portal: Portal, client: TestClient) -> None:
    tax, (tax_bill,) = make_account(portal, (150000,), department="Property tax")
    water, (water_bill,) = make_account(
        portal, (4550,), department="Water", partial=False, access_code="W1"
    )
    find(client, tax, "4821")
    find(client, water, "W1")
    page = client.get("/basket").text
    # Part payments get an amount field; all-or-nothing bills do not.
    assert f'name="amount-{tax_bill}"' in page
    assert f'name="amount-{water_bill}"' not in page
    assert page.count("checked") >= 2
    done = submit(client, {"pay": [tax_bill, water_bill], f"amount-{tax_bill}": "1,000.00"})
    assert done.status_code == 303
    assert done.headers["location"] == "http://testserver/check"
    check = client.get("/check").text
    assert "Property tax" in check and "Water" in check
    assert "$1,000.00" in check and "$45.50" in check and "$1,045.50" in check
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', check)


def test_french_amounts(portal: Portal, client: TestClient) -> None:
    account, (bill,) = make_account(portal, (250000,))
    client.get("/?lang=fr")
    find(client, account, "4821")
    page = client.get("/basket").text
    assert re.search(r"2[\s\u202f]500,00", page)
    assert submit(client, {"pay": bill, f"amount-{bill}": "1 234,56"}).status_code == 303
    assert "1\u00a0234,56\u00a0$" in client.get("/check").text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Enter an amount more than zero."),
        ("-5", "Enter an amount more than zero."),
        ("200.01", "Enter no more than the $200.00 owing."),
        ("10.555", "Enter the amount with no more than 2 decimal places."),
        ("ten", "Enter the amount as a number, like 125.50."),
        ("", "Enter the amount you want to pay."),
    ],
)
def test_amount_errors(portal: Portal, client: TestClient, typed: str, message: str) -> None:
    account, (bill,) = make_account(portal, (20000,))
    find(client, account, "4821")
    answer = submit(client, {"pay": bill, f"amount-{bill}": typed})
    assert answer.status_code == 422
    html = answer.text
    assert 'class="error-summary" role="alert"' in html
    assert f'<a href="#amount-{bill}">{message}</a>' in html
    assert f'id="amount-{bill}-error"' in html
    assert 'aria-invalid="true"' in html
    assert f'aria-describedby="amount-{bill}-error"' in html
    # What was typed is kept, so it can be corrected.
    assert f'value="{typed}"' in html


def test_nothing_chosen(portal: Portal, client: TestClient) -> None:
    account, (bill,) = make_account(portal)
    find(client, account, "4821")
    answer = submit(client, {})
    assert answer.status_code == 422
    assert f'href="#pay-{bill}">Choose at least one bill to pay.' in answer.text


@pytest.mark.parametrize("status", [AccountStatus.HOLD, AccountStatus.CLOSED])
def test_held_or_closed_accounts_cannot_be_paid(
    portal: Portal, client: TestClient, status: AccountStatus
) -> None:
    held, (held_bill,) = make_account(portal, status=status, reason="Under review")
    active, (active_bill,) = make_account(portal, access_code="A1")
    find(client, held, "4821")
    find(client, active, "A1")
    page = client.get("/basket").text
    assert "cannot be paid online" in page and "Under review" in page
    assert re.search(rf'id="pay-{held_bill}"[^>]*disabled', page)
    # A tampered form still cannot pay it.
    tampered = {"pay": [held_bill, active_bill], f"amount-{active_bill}": "123.45"}
    assert submit(client, tampered).status_code == 303
    check = client.get("/check").text
    assert active_bill in check and held_bill not in check


def test_remove_an_account(portal: Portal, client: TestClient) -> None:
    first, _ = make_account(portal)
    second, _ = make_account(portal, access_code="B2")
    find(client, first, "4821")
    find(client, second, "B2")
    page = client.get("/basket").text
    removed = client.post("/basket/remove", data={"csrf_token": csrf_from(page), "account": first})
    assert removed.status_code == 303
    page = client.get("/basket").text
    assert first not in page and second in page


def test_an_empty_basket_goes_to_the_find_form(client: TestClient) -> None:
    assert client.get("/basket").headers["location"] == "http://testserver/find"
    assert client.get("/check").headers["location"] == "http://testserver/basket"
