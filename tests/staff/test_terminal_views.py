"""Kiosks in the staff console: an administrator registers one and reads its one-time code
once, the kiosk enrols with it over the API; everyone who may sees its health; the home
page warns when a kiosk is out of service; kiosk payments name their terminal."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from starlette.testclient import TestClient

from shared.actors import Actor, ActorType
from shared.db import utcnow
from shared.gateway.sandbox.cards import Behaviour
from shared.models import AuditEvent, Channel, Tender, Terminal
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.terminals import credentials, health, registry
from tests import factories
from tests.shared.sandbox import token
from tests.staff.conftest import Console, post, post_login, signed_in

_CODE = re.compile(r'<code id="enrolment-code">([A-Z0-9-]+)</code>')
ADMIN = Actor(ActorType.STAFF, "test-admin")


def _token_for(client: TestClient, creds: credentials.Credentials) -> str:
    answer = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.client_secret),
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def test_an_administrator_registers_a_kiosk_that_enrols_with_the_code_shown_once(
    console: Console,
) -> None:
    admin, _ = signed_in(console, ["admin"])
    code = factories.unique("KIOSK")
    answer = post(
        admin, "/staff/admin/terminals/new", {"code": code.lower(), "location": "City Hall lobby"}
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"].startswith("no-store")
    shown = _CODE.search(answer.text)
    assert shown, "the page shows the enrolment code"
    enrolment_code = shown.group(1)
    with console.factory() as db:
        terminal = db.scalars(select(Terminal).where(Terminal.code == code)).one()
        terminal_id = terminal.id
        assert enrolment_code not in str(terminal.enrolment_code_hash)
        event = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "admin:terminal:registered", AuditEvent.object_id == code
            )
        ).one()
        assert event.actor_type == "staff"
    page = admin.get(f"/staff/terminals/{terminal_id}")
    assert page.status_code == 200
    assert enrolment_code not in page.text
    assert "Not enrolled yet" in page.text

    kiosk = console.client()
    enrolled = kiosk.post(
        "/api/v1/kiosk/enrol", json={"terminal": code, "enrolment_code": enrolment_code}
    )
    assert enrolled.status_code == 200
    creds = credentials.Credentials(
        code, "City Hall lobby", **{k: enrolled.json()[k] for k in ("client_id", "client_secret")}
    )
    bearer = {"Authorization": f"Bearer {_token_for(kiosk, creds)}"}
    assert kiosk.get("/api/v1/kiosk/config", headers=bearer).status_code == 200

    # Revoked from the console: the kiosk's token stops at once.
    revoked = post(admin, f"/staff/admin/terminals/{terminal_id}/revoke", {"reason": "stolen"})
    assert revoked.status_code == 303
    assert kiosk.get("/api/v1/kiosk/config", headers=bearer).status_code == 401
    # A new code brings it back, with new credentials.
    again = post(admin, f"/staff/admin/terminals/{terminal_id}/code")
    new_code = _CODE.search(again.text)
    assert new_code and new_code.group(1) != enrolment_code
    assert (
        kiosk.post(
            "/api/v1/kiosk/enrol", json={"terminal": code, "enrolment_code": new_code.group(1)}
        ).status_code
        == 200
    )


def test_a_bad_registration_says_what_is_wrong(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    answer = post(
        admin,
        "/staff/admin/terminals/new",
        {"code": "4111 1111 1111 1111", "location": "", "department": "x"},
    )
    assert answer.status_code == 422
    assert "4111" not in answer.text
    assert "Choose a department from the list." in answer.text
    answer = post(admin, "/staff/admin/terminals/new", {"code": "K", "location": "Lobby"})
    assert answer.status_code == 422
    assert "Enter a terminal code like KIOSK-01" in answer.text


def test_managing_kiosks_needs_a_second_factor(console: Console) -> None:
    role = console.role({"admin:terminals"})
    account = console.user([role])
    client = console.client()
    answer = post_login(client, account.username, account.password)
    assert answer.headers["location"].endswith("/staff/login/setup")


def test_agents_see_kiosk_health_and_the_home_page_warns_of_one_out_of_service(
    console: Console,
) -> None:
    agent, _ = signed_in(console, ["agent"])
    with console.factory() as db:
        creds = credentials.provision(db, ADMIN, code=factories.unique("KIOSK"), location="Library")
        terminal = registry.by_code(db, creds.terminal)
        assert terminal is not None
        health.record_heartbeat(
            db,
            terminal,
            {
                "in_service": True,
                "reader": {"state": "ok", "detail": ""},
                "printer": {"state": "paper_out", "detail": ""},
            },
        )
        db.commit()
        terminal_id = terminal.id

    home = agent.get("/staff/")
    assert 'id="kiosks-down"' in home.text
    assert creds.terminal in home.text
    assert "Printer cannot print" in home.text
    page = agent.get(f"/staff/terminals/{terminal_id}")
    assert page.status_code == 200
    assert "Out of paper" in page.text
    assert "Register a kiosk" not in agent.get("/staff/terminals").text
    assert agent.get("/staff/admin/terminals/new").status_code == 403

    # Heard from again, working: no warning. Then silent for three heartbeats: offline.
    with console.factory() as db:
        terminal = db.get(Terminal, terminal_id)
        assert terminal is not None
        health.record_heartbeat(
            db,
            terminal,
            {"in_service": True, "reader": {"state": "ok"}, "printer": {"state": "ok"}},
        )
        db.commit()
    assert creds.terminal not in agent.get("/staff/").text
    with console.factory() as db:
        terminal = db.get(Terminal, terminal_id)
        assert terminal is not None
        terminal.last_heartbeat = utcnow() - dt.timedelta(seconds=91)
        db.commit()
    home = agent.get("/staff/")
    assert creds.terminal in home.text
    assert "Offline" in home.text


def test_kiosk_payments_name_their_terminal_where_payments_are_listed(console: Console) -> None:
    cashier, _ = signed_in(console, ["supervisor"])
    with console.factory() as db:
        creds = credentials.provision(db, ADMIN, code=factories.unique("KIOSK"), location="Lobby")
        terminal = registry.by_code(db, creds.terminal)
        assert terminal is not None
        (bill,) = factories.bills(db, [2_000])
        db.commit()
        gateway = console.runtime.sandbox
        assert gateway is not None
        outcome = take_payment(
            db,
            gateway,
            PaymentRequest(
                items=(Item(bill.invoice_number),),
                tender=Tender.CARD,
                channel=Channel.KIOSK,
                idempotency_key=f"staff-kiosk-{terminal.id}",
                currency="CAD",
                card_token=token(gateway, Behaviour.APPROVE),
            ),
            registry.terminal_actor(terminal),
        )
        customer_id = outcome.payment.customer_id
        terminal_id = terminal.id
    customer = cashier.get(f"/staff/customers/{customer_id}")
    assert creds.terminal in customer.text
    payment = cashier.get(f"/staff/payments/{outcome.payment.transaction_id}")
    assert creds.terminal in payment.text
    found = cashier.get(f"/staff/search?terminal={terminal_id}&q=")
    assert f'<option value="{terminal_id}" selected>{creds.terminal}' in found.text
    assert outcome.payment.transaction_id in found.text
    assert creds.terminal in found.text.split("<tbody>", 1)[-1]
