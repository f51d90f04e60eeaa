"""The kiosk API as a kiosk uses it: over HTTP through the whole app, with the sandbox
processor's card-present endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from shared.db import utcnow
from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour
from shared.models import (
    AuditEvent,
    Channel,
    Invoice,
    OutboxMessage,
    Payment,
    SupportRequest,
    Terminal,
)
from shared.payments import recovery
from shared.receipts import layout_json
from shared.terminals import credentials, registry
from tests import factories
from tests.integrations.api.conftest import ADMIN, Api, Kiosk
from tests.shared.sandbox import authorizations

PAY = "/api/v1/kiosk/payments"


def _card_token(client: TestClient, behaviour: Behaviour = Behaviour.APPROVE) -> str:
    """What the kiosk gets from the processor's card-present endpoint for a card read."""
    card = next(c for c in SANDBOX_CARDS if c.behaviour is behaviour)
    issued = client.post(
        "/sandbox-gateway/card-present/tokens",
        json={"pan": card.number, "exp_month": 12, "exp_year": 2035, "name": "A Resident"},
    )
    assert issued.status_code == 201
    return str(issued.json()["token"])


def _resident(
    api: Api, amounts: tuple[int, ...] = (12_345,), name: str = "Élise Tremblay"
) -> tuple[str, str, list[str]]:
    """A resident with one account per amount, each in its own department; returns the
    first account's number and access code, and every bill number."""
    with api.factory() as db:
        customer = factories.customer(db, name)
        numbers, first = [], None
        for amount in amounts:
            dept = factories.department(db, name="Water" if not numbers else "Parking")
            account = factories.account(db, customer, dept)
            first = first or account
            numbers.append(
                factories.invoice(db, account, factories.fee_type(db, dept), amount).invoice_number
            )
        db.commit()
        assert first is not None
        return first.account_number, first.access_code or "", numbers


def _lookup(client: TestClient, kiosk: Kiosk, number: str, code: str, locale: str = "en") -> Any:
    found = client.post(
        "/api/v1/kiosk/lookup",
        json={"reference": number, "access_code": code, "locale": locale},
        headers=kiosk.headers,
    )
    assert found.status_code == 200, found.text
    return found.json()


def _pay(
    client: TestClient,
    kiosk: Kiosk,
    basket: str,
    items: list[dict[str, Any]],
    key: str,
    behaviour: Behaviour = Behaviour.APPROVE,
    locale: str = "en",
) -> Any:
    return client.post(
        PAY,
        json={
            "basket_token": basket,
            "items": items,
            "card_token": _card_token(client, behaviour),
            "locale": locale,
        },
        headers={**kiosk.headers, "Idempotency-Key": key},
    )


def _audited_calls(api: Api, code: str) -> list[str]:
    with api.factory() as db:
        return [
            e.details.get("call", e.action)
            for e in db.scalars(
                select(AuditEvent)
                .where(AuditEvent.actor_type == "terminal", AuditEvent.actor_id == code)
                .order_by(AuditEvent.seq)
            )
        ]


# -- credentials ----------------------------------------------------------------------


def test_a_kiosk_enrols_with_its_one_time_code_and_gets_tokens(
    api: Api, client: TestClient
) -> None:
    code = factories.unique("KIOSK")
    with api.factory() as db:
        issued = registry.register(db, ADMIN, code=code, location="Library")
        db.commit()

    enrolled = client.post(
        "/api/v1/kiosk/enrol", json={"terminal": code, "enrolment_code": issued.code}
    )
    assert enrolled.status_code == 200
    body = enrolled.json()
    assert (body["terminal"], body["location"]) == (code, "Library")
    again = client.post(
        "/api/v1/kiosk/enrol", json={"terminal": code, "enrolment_code": issued.code}
    )
    assert again.status_code == 401
    assert again.json()["error"] == "enrolment_refused"

    by_form = client.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": body["client_id"],
            "client_secret": body["client_secret"],
        },
    )
    assert by_form.status_code == 200
    token = by_form.json()
    assert (token["token_type"], token["expires_in"], token["scope"]) == ("Bearer", 900, "kiosk")
    config = client.get(
        "/api/v1/kiosk/config", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert config.status_code == 200
    assert (
        config.json()["card_present_url"] == "http://testserver/sandbox-gateway/card-present/tokens"
    )
    assert config.json()["heartbeat_seconds"] == 30


def test_a_wrong_secret_gets_an_oauth_error(client: TestClient, kiosk: Kiosk) -> None:
    refused = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(kiosk.creds.client_id, "not-the-secret"),
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    wrong_grant = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "password"},
        auth=(kiosk.creds.client_id, kiosk.creds.client_secret),
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"


def test_only_the_kiosk_scope_is_granted(client: TestClient, kiosk: Kiosk) -> None:
    asked = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(kiosk.creds.client_id, kiosk.creds.client_secret),
    )
    assert asked.status_code == 400
    assert asked.json()["error"] == "invalid_scope"
    unreadable = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%not-base64"},
    )
    assert unreadable.status_code == 401
    assert unreadable.json()["error"] == "invalid_client"


def test_revoking_a_terminal_stops_its_token_at_once(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    assert client.get("/api/v1/kiosk/config", headers=kiosk.headers).status_code == 200
    with api.factory() as db:
        terminal = registry.by_code(db, kiosk.code)
        assert terminal is not None
        registry.revoke(db, ADMIN, terminal, "stolen")
        db.commit()

    refused = client.get("/api/v1/kiosk/config", headers=kiosk.headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    again = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(kiosk.creds.client_id, kiosk.creds.client_secret),
    )
    assert again.status_code == 401


def test_no_token_is_a_401_and_another_scope_a_403(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    missing = client.get("/api/v1/kiosk/config")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    with api.factory() as db:
        terminal = registry.by_code(db, kiosk.code)
        assert terminal is not None
        other = credentials.issue_token(db, terminal, api.runtime.settings.secret_key, "reports")
        db.commit()
    forbidden = client.get(
        "/api/v1/kiosk/config", headers={"Authorization": f"Bearer {other.token}"}
    )
    assert forbidden.status_code == 403
    garbage = client.get("/api/v1/kiosk/config", headers={"Authorization": "Bearer x.y.z"})
    assert garbage.status_code == 401


# -- look-up --------------------------------------------------------------------------


def test_a_lookup_finds_the_bills_in_the_residents_language(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api)
    found = _lookup(client, kiosk, number, code.lower(), "fr")

    assert found["customer_display"] == "É. T."
    assert found["currency"] == "CAD"
    assert [b["invoice_number"] for b in found["bills"]] == bills
    bill = found["bills"][0]
    assert (bill["amount_due_minor"], bill["payable_minor"]) == (12_345, 12_345)
    assert bill["amount_due_display"] == "123,45\xa0$"
    assert bill["held"] is None
    assert "lookup" in _audited_calls(api, kiosk.code)


def test_a_wrong_code_and_an_unknown_number_get_the_same_404(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, _code, _bills = _resident(api)
    wrong = client.post(
        "/api/v1/kiosk/lookup",
        json={"reference": number, "access_code": "0000"},
        headers=kiosk.headers,
    )
    unknown = client.post(
        "/api/v1/kiosk/lookup",
        json={"reference": "ACC-NOPE", "access_code": "4821"},
        headers=kiosk.headers,
    )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "not_found"


def test_failed_lookups_are_limited_per_terminal(api: Api, client: TestClient) -> None:
    kiosk = api.kiosk(client)
    number, code, _bills = _resident(api)
    statuses = [
        client.post(
            "/api/v1/kiosk/lookup",
            json={"reference": f"ACC-NONE-{i}", "access_code": "1"},
            headers=kiosk.headers,
        ).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [404] * 20
    assert statuses[20] == 429
    limited = client.post(
        "/api/v1/kiosk/lookup",
        json={"reference": number, "access_code": code},
        headers=kiosk.headers,
    )
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_attempts"
    assert int(limited.headers["retry-after"]) > 0
    # Another kiosk is not refused for this one's failures.
    assert _lookup(client, api.kiosk(client), number, code)["bills"]


def test_a_card_number_typed_as_a_reference_is_refused_unlooked(
    client: TestClient, kiosk: Kiosk
) -> None:
    refused = client.post(
        "/api/v1/kiosk/lookup",
        json={"reference": "4242 4242 4242 4242", "access_code": "1234", "locale": "es"},
        headers=kiosk.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid"
    assert "reference" in refused.json()["fields"]


def test_a_kiosk_limited_to_a_department_finds_only_its_bills(api: Api, client: TestClient) -> None:
    number, code, _bills = _resident(api)
    with api.factory() as db:
        other = factories.department(db, name="Permits")
        db.commit()
        other_id = other.id
    scoped = api.kiosk(client, department_id=other_id)
    refused = client.post(
        "/api/v1/kiosk/lookup",
        json={"reference": number, "access_code": code},
        headers=scoped.headers,
    )
    assert refused.status_code == 404


# -- payments -------------------------------------------------------------------------


def test_two_bills_from_two_departments_in_one_kiosk_payment(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api, (4_000, 2_550))
    with api.factory() as db:
        account_two = (
            db.scalars(select(Invoice).where(Invoice.invoice_number == bills[1])).one().account
        )
        second = (account_two.account_number, account_two.access_code or "")
    first = _lookup(client, kiosk, number, code, "fr")
    assert [b["invoice_number"] for b in first["bills"]] == [bills[0]]
    # The second account of the same visit: its look-up extends the first one's basket.
    both = client.post(
        "/api/v1/kiosk/lookup",
        json={
            "reference": second[0],
            "access_code": second[1],
            "locale": "fr",
            "basket_token": first["basket_token"],
        },
        headers=kiosk.headers,
    ).json()
    assert [b["invoice_number"] for b in both["bills"]] == [bills[1]]
    assert both["bills"][0]["department"] == "Parking"

    paid = _pay(
        client,
        kiosk,
        both["basket_token"],
        [
            {"invoice_number": bills[0], "amount_minor": None},
            {"invoice_number": bills[1], "amount_minor": 2_000},
        ],
        "kiosk-two-1",
        locale="fr",
    )
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert payment["approved"] and not payment["in_doubt"]
    assert payment["status"] == "posted"
    assert payment["amount_display"] == "60,00\xa0$"
    assert payment["message"] == "Votre paiement est approuvé. Merci."
    assert (payment["card_brand"], payment["card_last4"]) == ("visa", "4242")
    assert re.fullmatch(r"R-\d{4}-\d{6}", payment["receipt_number"])
    with api.factory() as db:
        stored = db.scalars(
            select(Payment).where(Payment.transaction_id == payment["transaction_id"])
        ).one()
        terminal = db.scalars(select(Terminal).where(Terminal.code == kiosk.code)).one()
        assert stored.channel is Channel.KIOSK
        assert stored.terminal_id == terminal.id
        assert sorted(a.amount for a in stored.allocations) == [2_000, 4_000]
    assert {"lookup", "payment"} <= set(_audited_calls(api, kiosk.code))
    with api.factory() as db:
        created = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "payment:payment:created",
                AuditEvent.object_id == payment["transaction_id"],
            )
        ).one()
        assert (created.actor_type, created.actor_id) == ("terminal", kiosk.code)


def test_a_replay_answers_the_same_payment_and_charges_once(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api, (3_000,))
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    body = {
        "basket_token": basket,
        "items": [{"invoice_number": bills[0], "amount_minor": 1_000}],
        "card_token": _card_token(client),
        "locale": "en",
    }
    headers = {**kiosk.headers, "Idempotency-Key": "replay-1"}
    first = client.post(PAY, json=body, headers=headers)
    again = client.post(PAY, json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["transaction_id"] == again.json()["transaction_id"]
    assert authorizations(api.sandbox, "replay-1") == 1
    different = client.post(
        PAY,
        json={**body, "items": [{"invoice_number": bills[0], "amount_minor": 500}]},
        headers=headers,
    )
    assert different.status_code == 409
    assert different.json()["error"] == "idempotency_conflict"


def test_a_payment_needs_an_idempotency_key(api: Api, client: TestClient, kiosk: Kiosk) -> None:
    number, code, bills = _resident(api)
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    refused = client.post(
        PAY,
        json={
            "basket_token": basket,
            "items": [{"invoice_number": bills[0]}],
            "card_token": "tok_x",
        },
        headers=kiosk.headers,
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "idempotency_key_required"


def test_more_than_owed_is_refused_with_the_portals_words(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api, (1_000,))
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    refused = _pay(
        client,
        kiosk,
        basket,
        [{"invoice_number": bills[0], "amount_minor": 1_001}],
        "too-much-1",
        locale="es",
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "refused"
    assert bills[0] in refused.json()["message"]
    assert "no puede pagar más" in refused.json()["message"]


def test_a_bill_not_found_by_this_lookup_or_an_old_basket_is_refused(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, _bills = _resident(api)
    _other_number, _other_code, other_bills = _resident(api)
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    outside = _pay(client, kiosk, basket, [{"invoice_number": other_bills[0]}], "outside-1")
    assert outside.status_code == 409
    assert outside.json()["error"] == "refused"
    forged = _pay(client, kiosk, basket + "x", [{"invoice_number": other_bills[0]}], "forged-1")
    assert forged.status_code == 409
    assert forged.json()["error"] == "basket_expired"
    other_kiosk = api.kiosk(client)
    stolen = _pay(client, other_kiosk, basket, [{"invoice_number": _bills[0]}], "stolen-1")
    assert stolen.json()["error"] == "basket_expired"


def test_a_declined_card_says_so_and_takes_nothing(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api)
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    declined = _pay(
        client, kiosk, basket, [{"invoice_number": bills[0]}], "declined-1", Behaviour.INSUFFICIENT
    )
    assert declined.status_code == 201
    body = declined.json()
    assert (body["status"], body["approved"], body["receipt_number"]) == ("declined", False, None)
    assert "not enough funds" in body["message"]


def test_a_payment_in_doubt_holds_the_bill_and_is_recovered_by_key(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api, (5_000,))
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    unknown = _pay(
        client, kiosk, basket, [{"invoice_number": bills[0]}], "doubt-1", Behaviour.TIMEOUT_APPROVE
    )
    assert unknown.status_code == 201
    assert unknown.json()["in_doubt"] and unknown.json()["status"] == "unknown"

    # The bill shows the hold, and a second payment of it is refused, as on the portal.
    again = _lookup(client, kiosk, number, code)
    assert again["bills"][0]["payable_minor"] == 0
    assert again["bills"][0]["held"]["amount_minor"] == 5_000
    assert "being confirmed" in again["bills"][0]["held"]["message"]
    second = _pay(client, kiosk, again["basket_token"], [{"invoice_number": bills[0]}], "doubt-2")
    assert second.status_code == 409
    assert "being confirmed" in second.json()["message"]

    # The kiosk's journal asks by key; the recovery job resolves it; it asks again.
    by_key = client.get("/api/v1/kiosk/payments/by-key/doubt-1", headers=kiosk.headers)
    assert by_key.json()["status"] == "unknown"
    with api.factory() as db:
        payment = db.scalars(select(Payment).where(Payment.idempotency_key == "doubt-1")).one()
        recovery.resolve(db, api.runtime.gateway, payment.id)
        db.commit()
    resolved = client.get("/api/v1/kiosk/payments/by-key/doubt-1", headers=kiosk.headers)
    assert resolved.json()["status"] == "posted"
    assert resolved.json()["receipt_number"]
    assert authorizations(api.sandbox, "doubt-1") == 1
    status = client.get(
        f"/api/v1/kiosk/payments/{resolved.json()['transaction_id']}", headers=kiosk.headers
    )
    assert status.json()["approved"]


def test_by_key_is_404_when_nothing_was_written_and_for_another_kiosk(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    never = client.get("/api/v1/kiosk/payments/by-key/never-sent", headers=kiosk.headers)
    assert never.status_code == 404
    assert never.json()["error"] == "not_found"
    number, code, bills = _resident(api)
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    paid = _pay(client, kiosk, basket, [{"invoice_number": bills[0]}], "mine-1").json()
    other = api.kiosk(client)
    assert (
        client.get("/api/v1/kiosk/payments/by-key/mine-1", headers=other.headers).status_code == 404
    )
    assert (
        client.get(
            f"/api/v1/kiosk/payments/{paid['transaction_id']}", headers=other.headers
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/kiosk/receipts/{paid['receipt_number']}", headers=other.headers
        ).status_code
        == 404
    )


# -- receipts, heartbeat, help ----------------------------------------------------------


def test_the_receipt_is_the_layout_the_printer_prints(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api)
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    paid = _pay(client, kiosk, basket, [{"invoice_number": bills[0]}], "receipt-1").json()

    shown = client.get(
        f"/api/v1/kiosk/receipts/{paid['receipt_number']}?locale=fr", headers=kiosk.headers
    )
    assert shown.status_code == 200
    body = shown.json()
    assert body["total_minor"] == 12_345
    assert body["verification_url"].startswith("http://testserver/verify/")
    layout = layout_json.from_json(body["layout"])
    texts = " ".join(
        str(getattr(block, "text", "")) + " " + str(getattr(block, "right", ""))
        for block in layout.blocks
    )
    assert "Reçu officiel" in texts
    assert paid["receipt_number"] in texts

    emailed = client.post(
        f"/api/v1/kiosk/receipts/{paid['receipt_number']}/email",
        json={"email": "resident@example.org", "locale": "fr"},
        headers=kiosk.headers,
    )
    assert emailed.status_code == 202
    assert emailed.json() == {"sent_to": "resident@example.org"}
    card = client.post(
        f"/api/v1/kiosk/receipts/{paid['receipt_number']}/email",
        json={"email": "4242424242424242@example.org"},
        headers=kiosk.headers,
    )
    assert card.status_code == 422
    assert "email" in card.json()["fields"]
    with api.factory() as db:
        queued = db.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "receipt_email")
        ).all()
        assert any(m.payload.get("to") == "resident@example.org" for m in queued)
        assert not any("4242424242424242" in str(m.payload) for m in queued)


def test_a_heartbeat_is_stored_and_answers_whether_staff_keep_it_in_service(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    beat = {
        "app_version": "1.2.0",
        "in_service": True,
        "reader": {"state": "ok", "detail": ""},
        "printer": {"state": "paper_near_end", "detail": "low"},
        "journal_pending": 0,
        "last_payment": None,
    }
    answer = client.post("/api/v1/kiosk/heartbeat", json=beat, headers=kiosk.headers)
    assert answer.status_code == 200
    assert answer.json()["in_service"] is True
    with api.factory() as db:
        terminal = registry.by_code(db, kiosk.code)
        assert terminal is not None
        assert terminal.health["printer"]["state"] == "paper_near_end"
        assert terminal.last_heartbeat is not None and terminal.last_heartbeat <= utcnow()
        registry.set_in_service(db, ADMIN, terminal, False)
        db.commit()
    answer = client.post("/api/v1/kiosk/heartbeat", json=beat, headers=kiosk.headers)
    assert answer.json()["in_service"] is False
    quoted = {
        **beat,
        "reader": {"state": "error", "detail": "read 4242 4242 4242 4242 then failed"},
    }
    assert (
        client.post("/api/v1/kiosk/heartbeat", json=quoted, headers=kiosk.headers).status_code
        == 200
    )
    with api.factory() as db:
        terminal = registry.by_code(db, kiosk.code)
        assert terminal is not None
        assert "4242 4242 4242 4242" not in str(terminal.health)
        assert terminal.health["reader"]["state"] == "error"
    bad = client.post(
        "/api/v1/kiosk/heartbeat",
        json={**beat, "printer": {"state": "on fire"}},
        headers=kiosk.headers,
    )
    assert bad.status_code == 422
    assert "printer.state" in bad.json()["fields"]


def test_call_for_help_opens_a_request_carrying_the_kiosk(
    api: Api, client: TestClient, kiosk: Kiosk
) -> None:
    number, code, bills = _resident(api)
    basket = _lookup(client, kiosk, number, code)["basket_token"]
    paid = _pay(client, kiosk, basket, [{"invoice_number": bills[0]}], "help-1").json()
    asked = client.post(
        "/api/v1/kiosk/help",
        json={
            "locale": "fr",
            "about": {"kind": "payment", "reference": paid["transaction_id"]},
            "message": "",
        },
        headers=kiosk.headers,
    )
    assert asked.status_code == 201
    reference = asked.json()["reference"]
    assert re.fullmatch(r"S-\d{4}-\d{6}", reference)
    with api.factory() as db:
        request = db.scalars(
            select(SupportRequest).where(SupportRequest.reference == reference)
        ).one()
        assert request.terminal_code == kiosk.code
        assert request.context_reference == paid["transaction_id"]
        assert request.contact_locale == "fr"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"reference": None},
        {"reference": "A" * 65, "access_code": "1"},
        {"reference": "ACC\u0000", "access_code": "1"},
        {"reference": "ACC", "access_code": "1", "locale": "de"},
    ],
)
def test_bad_input_is_a_422_in_the_error_shape(client: TestClient, kiosk: Kiosk, body: Any) -> None:
    answer = client.post("/api/v1/kiosk/lookup", json=body, headers=kiosk.headers)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid"
    assert answer.json()["message"]
    assert answer.json()["fields"]


def test_the_docs_page_is_served_here_under_the_strict_policy(client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "default-src 'none'" in docs.headers["content-security-policy"]
    assert "<script" not in docs.text
    assert "http" not in docs.text.replace("http://testserver", "").split("<main>")[0]
    assert "/api/v1/kiosk/payments" in docs.text
    document = client.get("/api/openapi.json").json()
    assert (
        "/api/v1/kiosk/payments/by-key/{idempotency_key}".removeprefix("/api") in document["paths"]
    )
    assert client.get("/api/").json()["docs"] == "/api/docs"
