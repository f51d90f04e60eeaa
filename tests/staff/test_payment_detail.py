"""Payment detail through the real app, on both databases: the timeline, allocations with
GL accounts, the receipt (page, PDF, resend by email), audit events, and who may do what.

`test_my_routes_for_every_default_role` runs the route/permission matrix over the search,
customer and payment routes with real sample values for their path parameters."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.actors import Actor, ActorType
from shared.auth.access import UserPermissions, can
from shared.db import transaction, utcnow
from shared.messaging import outbox
from shared.models import Interaction, InteractionChannel, LinkKind, OutboxMessage
from shared.models import PaymentStatus as S
from shared.permissions import DEFAULT_ROLES
from shared.receipts.email import RECEIPT_EMAIL, receipt_email_handler
from staff import customer_routes
from tests import factories
from tests.staff.conftest import Console, post, signed_in
from tests.staff.test_interactions import interaction_id, start
from tests.staff.test_search import World, add_payment, build_world


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    return build_world(console)


@pytest.fixture(scope="module")
def agent(console: Console) -> TestClient:
    client, _ = signed_in(console, ["agent"])
    return client


@pytest.fixture(scope="module")
def auditor(console: Console) -> TestClient:
    client, _ = signed_in(console, ["auditor"])
    return client


def sample_path_params(world: World) -> dict[str, str]:
    """Sample values for the path parameters of these routes (for the route matrix)."""
    return {"{customer_id:int}": str(world.customer_id), "{transaction_id}": world.cash_tx}


def test_timeline_allocations_receipt_and_audit(auditor: TestClient, world: World) -> None:
    response = auditor.get(f"/staff/payments/{world.cash_tx}")
    assert response.status_code == 200
    text = response.text
    # Every state with its actor.
    assert "badge-pending" in text and "badge-posted" in text and "staff:cashier-test" in text
    # Allocations by department, fee type and GL account.
    assert "Tax" in text and "Water" in text and "4100-110" in text and "4200-210" in text
    assert "$1,200.00" in text and "$20.00" in text
    # Receipt, its PDF, the tender.
    assert world.receipt_number in text and "Official receipt" in text
    assert f"/staff/payments/{world.cash_tx}/receipt.pdf" in text
    assert "Cash tendered" in text and "$2,000.00" in text
    # Audit events for the payment and for its receipt.
    assert "payment:payment:created" in text and "receipt:receipt:issued" in text
    # An auditor reads; asking for a correction is not theirs.
    assert "Corrective actions" in text and "your roles do not let you ask" in text
    assert "Ask to void the payment" not in text


def test_card_details_and_gateway_reference(agent: TestClient, world: World) -> None:
    text = agent.get(f"/staff/payments/{world.card_txs[2]}").text
    assert "•••• 1881" in text and "visa" in text and "sbx_" in text
    assert "needs the audit permission" in text  # agents do not see the audit trail


def test_loosely_typed_transaction_id_in_the_url(agent: TestClient, world: World) -> None:
    assert agent.get(f"/staff/payments/{world.cash_tx.lower()}").status_code == 200
    assert agent.get("/staff/payments/TX-0000-0000-0000").status_code == 404


def test_receipt_pdf(auditor: TestClient, world: World) -> None:
    response = auditor.get(f"/staff/payments/{world.cash_tx}/receipt.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert agent_missing(auditor, world)


def agent_missing(client: TestClient, world: World) -> bool:
    # A payment without a receipt has no PDF.
    return client.get(f"/staff/payments/{world.card_txs[0]}/receipt.pdf").status_code == 404


def _outbox(console: Console) -> list[OutboxMessage]:
    with transaction(console.factory) as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_resend_to_the_address_on_file_and_another(
    console: Console, agent: TestClient, world: World
) -> None:
    url = f"/staff/payments/{world.cash_tx}/resend"
    before = len(_outbox(console))
    response = post(agent, url, {"to": "file"})
    assert response.status_code == 303
    page = agent.get(response.headers["location"]).text
    assert "will be emailed to payer." in page
    response = post(agent, url, {"to": "other", "email": "  someone@example.com "})
    assert response.status_code == 303
    sent = _outbox(console)[before:]
    assert [m.payload["to"] for m in sent] == [sent[0].payload["to"], "someone@example.com"]
    assert sent[0].payload["to"].startswith("payer.")
    assert all(m.kind == "receipt_email" for m in sent)
    assert sent[0].payload["locale"] == "fr"  # the customer's language


def test_resend_rejects_a_bad_address(console: Console, agent: TestClient, world: World) -> None:
    before = len(_outbox(console))
    response = post(
        agent, f"/staff/payments/{world.cash_tx}/resend", {"to": "other", "email": "nope@"}
    )
    assert response.status_code == 422
    assert 'href="#resend-email"' in response.text and 'aria-invalid="true"' in response.text
    assert len(_outbox(console)) == before


def test_an_auditor_can_view_but_not_resend(
    console: Console, auditor: TestClient, world: World
) -> None:
    page = auditor.get(f"/staff/payments/{world.cash_tx}")
    assert page.status_code == 200 and "Send the receipt" not in page.text
    before = len(_outbox(console))
    response = post(auditor, f"/staff/payments/{world.cash_tx}/resend", {"to": "file"})
    assert response.status_code == 403
    assert len(_outbox(console)) == before


def test_a_department_limited_agent_cannot_open_other_departments_payments(
    console: Console, world: World
) -> None:
    client, _ = signed_in(console, ["agent"], departments={"agent": world.parks})
    assert client.get(f"/staff/payments/{world.card_txs[0]}").status_code == 404
    water, _ = signed_in(console, ["agent"], departments={"agent": world.water})
    assert water.get(f"/staff/payments/{world.card_txs[2]}").status_code == 200


@pytest.mark.parametrize("role", sorted(DEFAULT_ROLES))
def test_my_routes_for_every_default_role(console: Console, world: World, role: str) -> None:
    client, _ = signed_in(console, [role])
    perms = UserPermissions(DEFAULT_ROLES[role][1])
    samples = sample_path_params(world)
    for route in customer_routes.routes:
        assert isinstance(route, Route)
        permission = route.endpoint.required_permission  # type: ignore[attr-defined]
        if "GET" not in (route.methods or set()):
            continue
        url = "/staff" + route.path
        for name, value in samples.items():
            url = url.replace(name, value)
        response = client.get(url)
        expected = 200 if can(perms, permission) else 403
        assert response.status_code == expected, (role, url)


def test_a_posted_card_payment_shows_when_it_settles_and_when_that_is_late(
    console: Console, agent: TestClient
) -> None:
    with transaction(console.factory) as db:
        (bill,) = factories.bills(db, [9_000])
        customer = bill.account.customer
        fresh, stale = (
            add_payment(
                db, customer, bill.account, bill, 1_000, at, status=S.POSTED, last4="4242"
            ).transaction_id
            for at in (utcnow(), utcnow() - dt.timedelta(days=3))
        )
        customer_id = customer.id
    assert "Expected by" in agent.get(f"/staff/payments/{fresh}").text
    late = agent.get(f"/staff/payments/{stale}").text
    assert "badge-late" in late and "expected by" in late
    view = agent.get(f"/staff/customers/{customer_id}").text
    assert "Expected by" in view and "Late: expected by" in view


def _deliver(console: Console) -> None:
    settings = console.runtime.settings
    handlers = {RECEIPT_EMAIL: receipt_email_handler(settings, console.runtime.mailer)}
    outbox.deliver_due(console.factory, handlers)


def test_a_resend_is_the_agents_in_the_chosen_language_and_on_their_open_call(
    console: Console, world: World
) -> None:
    client, account = signed_in(console, ["agent"])
    call = start(client, world.customer_id)
    response = post(
        client, f"/staff/payments/{world.cash_tx}/resend", {"to": "file", "locale": "es"}
    )
    assert response.status_code == 303
    _deliver(console)
    page = client.get(f"/staff/payments/{world.cash_tx}").text
    log = page.split("Delivery log", 1)[1]
    assert "<td>resent</td>" in log and f"<td>staff:{account.username}</td>" in log
    mail = max((console.runtime.settings.var_dir / "mail").glob("*.eml"))
    parsed = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert parsed["Content-Language"] == "es" and world.receipt_number in parsed["Subject"]
    with console.factory() as db:
        interaction = db.get(Interaction, interaction_id(call))
        assert interaction is not None
        assert [(ln.kind, ln.reference) for ln in interaction.links] == [
            (LinkKind.RECEIPT, world.receipt_number)
        ]
        (note,) = interaction.notes
        assert world.receipt_number in note.text and "(Español)" in note.text


def test_without_an_open_interaction_a_resend_opens_an_email_one(console: Console) -> None:
    client, account = signed_in(console, ["agent"])
    with transaction(console.factory) as db:
        (bill,) = factories.bills(db, [4_000])
        paid = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test")).payment
        transaction_id, customer_id = paid.transaction_id, paid.customer_id
    resend = post(
        client,
        f"/staff/payments/{transaction_id}/resend",
        {"to": "other", "email": "ana@example.com"},
    )
    assert resend.status_code == 303
    with console.factory() as db:
        (interaction,) = db.scalars(
            select(Interaction).where(Interaction.customer_id == customer_id)
        ).all()
        assert interaction.channel is InteractionChannel.EMAIL
        assert interaction.staff_user_id == account.id and interaction.open
        assert "ana@example.com" in interaction.notes[0].text
