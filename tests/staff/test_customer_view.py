"""The customer view (360°) through the real app, on both databases."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from shared.actors import SYSTEM
from shared.auth.roles import create_role
from shared.auth.staff_users import ensure_default_roles
from shared.db import transaction
from shared.models import Account
from tests import factories
from tests.integrations.test_write_back import bills_from_tax_system, pay
from tests.staff.conftest import Console, csrf_from, signed_in
from tests.staff.test_search import World, build_world


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    return build_world(console)


@pytest.fixture(scope="module")
def agent(console: Console) -> TestClient:
    client, _ = signed_in(console, ["agent"])
    return client


def test_balances_per_department_invoices_payments_and_receipts(
    agent: TestClient, world: World
) -> None:
    response = agent.get(f"/staff/customers/{world.customer_id}")
    assert response.status_code == 200
    text = response.text
    for department in ("Tax", "Water", "Parks"):
        assert f">{department}" in text
    for number in world.accounts.values():
        assert number in text
    assert "Balances as of" in text
    # Tax is paid in full by the cash payment; Water is part paid; Parks is untouched.
    assert "$0.00" in text and "$60.00" in text and "$50.00" in text
    assert "Open invoices" in text and world.invoice_number in text
    assert world.cash_tx in text and "badge-posted" in text and "badge-settled" in text
    assert world.receipt_number in text
    assert "Counter" in text


def test_flags_duplicate_suspect_and_hold(agent: TestClient, world: World) -> None:
    text = agent.get(f"/staff/customers/{world.customer_id}").text
    assert "Duplicate suspect:" in text
    assert world.card_txs[0] in text and world.card_txs[1] in text
    assert "Account on hold:" in text and "Returned cheque" in text


def test_no_flags_for_an_ordinary_customer(agent: TestClient, world: World) -> None:
    text = agent.get(f"/staff/customers/{world.history_customer_id}").text
    assert "Duplicate suspect:" not in text and "Account on hold:" not in text


def test_payments_page_by_keyset(agent: TestClient, world: World) -> None:
    url = f"/staff/customers/{world.history_customer_id}"
    seen: list[str] = []
    pages = 0
    while url:
        response = agent.get(url)
        assert response.status_code == 200
        page = [tx for tx in world.history_txs if tx in response.text]
        assert len(page) == min(20, len(world.history_txs) - len(seen))
        seen += page
        pages += 1
        marker = 'rel="next"'
        if marker not in response.text:
            break
        head = response.text[: response.text.index(marker)]
        link = head[head.rindex('href="') + 6 :].split('"')[0].replace("&amp;", "&")
        url = urlsplit(link).path + "?" + urlsplit(link).query
    assert pages == 7
    assert len(seen) == len(set(seen)) == len(world.history_txs)


def test_htmx_more_payments_is_a_fragment(agent: TestClient, world: World) -> None:
    page = agent.get(f"/staff/customers/{world.history_customer_id}").text
    head = page[: page.index('rel="next"')]
    link = head[head.rindex('href="') + 6 :].split('"')[0].replace("&amp;", "&")
    fragment = agent.get(link, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "TX-" in fragment.text
    assert fragment.headers["vary"].lower().find("hx-request") >= 0


def test_a_department_limited_agent_sees_only_their_department(
    console: Console, world: World
) -> None:
    client, _ = signed_in(console, ["agent"], departments={"agent": world.water})
    text = client.get(f"/staff/customers/{world.customer_id}").text
    assert world.accounts["Water"] in text
    assert world.accounts["Tax"] not in text and world.accounts["Parks"] not in text
    assert world.card_txs[2] in text  # the water payment
    assert world.card_txs[0] not in text  # tax payments stay hidden
    assert world.cash_tx in text  # it paid water too
    assert "Duplicate suspect:" not in text  # the duplicates are tax payments


def test_a_customer_of_other_departments_is_unknown_to_a_limited_agent(
    console: Console, world: World
) -> None:
    """Hilda has only a Water account: to an agent limited to Tax she does not exist."""
    client, _ = signed_in(console, ["agent"], departments={"agent": world.tax})
    hilda = f"/staff/customers/{world.history_customer_id}"
    assert client.get(hilda).status_code == 404
    assert client.get(f"{hilda}/interactions").status_code == 404
    token = csrf_from(client.get(f"/staff/customers/{world.customer_id}").text)
    refresh = client.post(f"{hilda}/balances/refresh", data={"csrf_token": token})
    assert refresh.status_code == 404
    everywhere, _ = signed_in(console, ["agent"])
    assert everywhere.get(hilda).status_code == 200


def test_unknown_customer_is_404(agent: TestClient) -> None:
    assert agent.get("/staff/customers/987654321").status_code == 404


def test_the_counter_panel_place_is_there(agent: TestClient, world: World) -> None:
    assert 'id="counter-panel"' in agent.get(f"/staff/customers/{world.customer_id}").text


def test_refresh_re_reads_balances_from_the_bills(console: Console) -> None:
    """The local balance source is the bills: a stale balance is put right on refresh."""
    with console.factory() as db:
        (bill,) = factories.bills(db, [12_000])
        account = bill.account
        account.balance = 1  # stale: the source says 120.00
        db.commit()
        customer_id, account_id = account.customer_id, account.id
    client, _ = signed_in(console, ["agent"])
    page = client.get(f"/staff/customers/{customer_id}")
    refreshed = client.post(
        f"/staff/customers/{customer_id}/balances/refresh",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert refreshed.status_code == 303
    with console.factory() as db:
        account = db.scalars(select(Account).where(Account.id == account_id)).one()
        assert account.balance == 12_000
        assert account.balance_as_of is not None
    assert "$120.00" in client.get(f"/staff/customers/{customer_id}").text


def test_many_open_invoices_page_soonest_due_first(console: Console) -> None:
    """A fleet owner with 120 parking fines: 50 a page, every bill reached exactly once."""
    with console.factory() as db:
        (first,) = factories.bills(db, [1_000])
        for _ in range(119):
            factories.invoice(db, first.account, first.fee_type, 1_000)
        db.commit()
        customer_id = first.account.customer_id
    client, _ = signed_in(console, ["agent"])
    url: str | None = f"/staff/customers/{customer_id}"
    seen: list[str] = []
    pages = 0
    while url:
        text = client.get(url).text
        page = re.findall(r'<tr id="invoice-\d+"><td>([^<]+)<br>', text)
        assert len(page) == min(50, 120 - len(seen))
        seen += page
        pages += 1
        more = re.search(r'href="([^"]+)#invoices-title">More open invoices', text)
        url = html.unescape(more.group(1)) if more else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    tampered = client.get(f"/staff/customers/{customer_id}?invoices_after=9999-99-99.x")
    assert tampered.status_code == 200
    assert len(re.findall(r'<tr id="invoice-\d+">', tampered.text)) == 50


@pytest.mark.parametrize("last_id", [" {id}", "-{id}", "+{id}", "{id}_0"])
def test_a_malformed_invoice_cursor_starts_from_the_soonest_due(
    console: Console, last_id: str
) -> None:
    """What int() would read but no link holds (spaces, signs, underscores) is no id."""
    with console.factory() as db:
        (first,) = factories.bills(db, [1_000])
        second = factories.invoice(db, first.account, first.fee_type, 2_000)
        db.commit()
        customer_id, due = first.account.customer_id, first.due_date
        numbers = [first.invoice_number, second.invoice_number]
    client, _ = signed_in(console, ["agent"])
    cursor = f"{due.isoformat()}.{last_id.format(id=first.id)}"
    text = client.get(f"/staff/customers/{customer_id}", params={"invoices_after": cursor}).text
    assert re.findall(r'<tr id="invoice-\d+"><td>([^<]+)<br>', text) == numbers
    assert "Back to the soonest due" not in text


def viewer_role(console: Console) -> str:
    """A role that sees customers but not their payments (no default role is one)."""
    name = f"viewer-{secrets.token_hex(3)}"
    with transaction(console.factory) as db:
        ensure_default_roles(db)  # the permission catalogue
        create_role(db, SYSTEM, name, "Customers only", ["customers:view"])
    return name


def test_a_write_back_is_flagged_only_to_who_may_see_the_payment(console: Console) -> None:
    """The flag names the payment and its amount: not for someone without payments:view,
    nor for one who sees payments only in another department."""
    with console.factory() as db:
        tax, _, water = bills_from_tax_system(db)
        transaction_id = pay(db, tax).payment.transaction_id
        customer_id = tax.account.customer_id
        tax_department, water_department = tax.account.department_id, water.account.department_id
    viewer = viewer_role(console)
    url = f"/staff/customers/{customer_id}"
    for roles, departments, flagged in [
        (["agent"], {}, True),
        ([viewer], {}, False),
        ([viewer], {viewer: tax_department}, False),
        ([viewer, "agent"], {"agent": water_department}, False),
    ]:
        client, _ = signed_in(console, roles, departments=departments)
        text = client.get(url).text
        assert ("Write-back pending:" in text) is flagged, roles
        assert (transaction_id in text) is flagged, roles
