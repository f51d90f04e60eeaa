"""Connected systems in the staff console: an administrator sets a system's balances to be
pulled; agents then see the pulled balance with its time, and when the system is down,
the page still loads and says so in words they can read out; the counter refuses a bill
the system says was paid elsewhere, with what it owes now."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from shared.config import WriteBackTarget
from shared.models import (
    AuditEvent,
    BalanceSourceSetting,
    IntegrationClient,
    Invoice,
    Payment,
    SourceMode,
)
from tests import factories
from tests.staff.conftest import Console, csrf, post, signed_in
from tests.staff.test_counter import in_cash, pay_form
from tests.support.apps import runtime_on_fresh_database
from tests.support.pull_source import PullSource, bill

SYSTEM = "utility-billing"
SECRET = "utility-billing-secret"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def connected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    with runtime_on_fresh_database(
        request.param,
        tmp_path_factory.mktemp("connected"),
        secret_key="connected-tests",
        timezone="UTC",
        write_back_targets=(WriteBackTarget(SYSTEM, "http://127.0.0.1:9/unused", SECRET),),
        # Every page asks again: what an agent sees is what the system says now.
        balance_max_age_seconds=0,
        balance_breaker_failures=100,
    ) as runtime:
        yield Console(runtime, runtime.factory)


@pytest.fixture
def source() -> Iterator[PullSource]:
    with PullSource(SECRET) as running:
        yield running


def utility_bill(console: Console, source: PullSource, amount: int) -> tuple[int, Invoice]:
    with console.factory() as db:
        (invoice,) = factories.bills(db, [amount])
        invoice.account.source_system = SYSTEM
        db.commit()
        source.books[invoice.account.account_number] = [
            bill(invoice.invoice_number, amount, invoice.fee_type.code)
        ]
        db.refresh(invoice)
        return invoice.account.customer_id, invoice


def set_pull(admin: TestClient, url: str, timeout: str = "1000") -> None:
    saved = post(
        admin,
        f"/staff/admin/integrations/sources/{SYSTEM}",
        {"mode": "pull", "url": url, "timeout": timeout},
    )
    assert saved.status_code == 303, saved.text


def test_an_administrator_sets_a_system_to_be_pulled_and_it_is_audited(
    connected: Console, source: PullSource
) -> None:
    utility_bill(connected, source, 1_000)
    admin, _ = signed_in(connected, ["admin"])
    listed = admin.get("/staff/admin/integrations")
    assert listed.status_code == 200
    assert SYSTEM in listed.text and "Bills held in Paydesk" in listed.text
    page = f"/staff/admin/integrations/sources/{SYSTEM}"
    refused = post(admin, page, {"mode": "pull", "url": "ftp://nowhere", "timeout": "1000"})
    assert refused.status_code == 422
    assert "starting with https://" in refused.text
    slow = post(admin, page, {"mode": "pull", "url": source.url, "timeout": "90000"})
    assert slow.status_code == 422
    assert "between 100 and 10000 milliseconds" in slow.text
    set_pull(admin, source.url)
    assert "Asked from the system (pull)" in admin.get("/staff/admin/integrations").text
    with connected.factory() as db:
        row = db.get(BalanceSourceSetting, SYSTEM)
        assert row is not None
        assert (row.mode, row.url, row.timeout_ms) == (SourceMode.PULL, source.url, 1000)
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "integration:balance_source:set")
        ).all()[-1]
        assert event.object_id == SYSTEM
        assert event.details["after"] == {"mode": "pull", "url": source.url, "ms": 1000}


def test_only_administrators_manage_connected_systems(connected: Console) -> None:
    agent, _ = signed_in(connected, ["agent", "supervisor"])
    assert agent.get("/staff/admin/integrations").status_code == 403
    page = f"/staff/admin/integrations/sources/{SYSTEM}"
    assert post(agent, page, {"mode": "local", "timeout": "1000"}).status_code == 403
    admin, _ = signed_in(connected, ["admin"])
    assert admin.get("/staff/admin/integrations/sources/no-such-system").status_code == 404


def test_the_customer_view_shows_the_pulled_balance_and_survives_the_system_going_down(
    connected: Console, source: PullSource
) -> None:
    customer_id, invoice = utility_bill(connected, source, 10_000)
    admin, _ = signed_in(connected, ["admin"])
    set_pull(admin, source.url, timeout="300")
    source.books[invoice.account.account_number] = [bill(invoice.invoice_number, 6_250)]
    agent, _ = signed_in(connected, ["agent"])
    view = agent.get(f"/staff/customers/{customer_id}")
    assert view.status_code == 200
    assert "$62.50" in view.text and f"From {SYSTEM}" in view.text
    assert "Could not be refreshed" not in view.text
    source.status = 503  # the system goes down
    down = agent.get(f"/staff/customers/{customer_id}")
    assert down.status_code == 200
    assert "$62.50" in down.text
    assert f"Could not be refreshed from {SYSTEM} just now. This is the last known balance" in (
        down.text
    )
    source.status, source.delay = 200, 5  # and then only slow
    slow = agent.get(f"/staff/customers/{customer_id}")
    assert slow.status_code == 200
    assert f"Could not be refreshed from {SYSTEM} just now" in slow.text


def test_the_counter_refuses_a_bill_paid_elsewhere_and_shows_a_changed_amount(
    connected: Console, source: PullSource
) -> None:
    customer_id, invoice = utility_bill(connected, source, 10_000)
    admin, _ = signed_in(connected, ["admin"])
    set_pull(admin, source.url)
    cashier, _ = signed_in(connected, ["cashier"])
    _page, base = pay_form(cashier, customer_id)
    number = invoice.invoice_number
    source.books[invoice.account.account_number] = [bill(number, 7_000)]
    changed = cashier.post(
        f"/staff/customers/{customer_id}/pay", data=in_cash(base, {number: "100.00"}, "100.00")
    )
    assert changed.status_code == 422
    assert f"Bill {number} now owes $70.00, its billing system says." in changed.text
    source.books[invoice.account.account_number] = []
    _page, base = pay_form(cashier, customer_id)
    paid = cashier.post(
        f"/staff/customers/{customer_id}/pay", data=in_cash(base, {number: "70.00"}, "70.00")
    )
    assert paid.status_code == 422
    assert f"Bill {number} was just paid elsewhere" in paid.text
    with connected.factory() as db:
        assert db.scalars(select(Payment).where(Payment.customer_id == customer_id)).all() == []


def test_an_administrator_registers_a_system_client_and_revokes_it(connected: Console) -> None:
    admin, _ = signed_in(connected, ["admin"])
    page = "/staff/admin/integrations/clients"
    refused = admin.post(page, data={"name": "Tax billing", "csrf_token": csrf(admin)})
    assert refused.status_code == 422
    assert "Choose at least one scope from the list." in refused.text

    made = admin.post(
        page,
        data={"name": "Tax billing", "scope": ["balances:write"], "csrf_token": csrf(admin)},
    )

    assert made.status_code == 200
    assert "the secret is shown only this once" in made.text
    client_id = re.search(r'id="client-id">([^<]+)<', made.text)
    secret = re.search(r'id="client-secret">([^<]+)<', made.text)
    assert client_id and secret
    again = admin.get(page).text
    assert client_id[1] in again and secret[1] not in again  # shown once
    token = admin.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id[1], secret[1]),
    )
    assert token.status_code == 200
    assert token.json()["scope"] == "balances:write"
    with connected.factory() as db:
        found = db.scalars(
            select(IntegrationClient).where(IntegrationClient.client_id == client_id[1])
        ).one()
        assert found.secret_hash != secret[1]
        client_key = found.id

    revoked = post(admin, f"/staff/admin/integrations/clients/{client_key}/revoke")

    assert revoked.status_code == 303
    assert "Tax billing is revoked" in admin.get(page).text
    refused_token = admin.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id[1], secret[1]),
    )
    assert refused_token.status_code == 401
