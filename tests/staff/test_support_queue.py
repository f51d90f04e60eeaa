"""The support queue through the real app: requests from the widget land in it with their
payment's live status, staff claim, answer, resend the receipt, note, link and resolve,
each step in the request's history; department limits keep others' requests out."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from shared.actors import Actor, ActorType
from shared.db import transaction
from shared.interactions import sla, support
from shared.models import (
    InteractionChannel,
    OutboxMessage,
    Payment,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)
from tests import factories
from tests.shared.interactions.support_factories import WIDGET, contact
from tests.staff.conftest import Console, csrf_from, post, signed_in


@dataclass(frozen=True)
class Asked:
    reference: str
    transaction_id: str
    receipt_number: str
    department_id: int
    customer_id: int


def _asked(
    console: Console, message: str = "Was I charged?", email: str = "ana@example.com"
) -> Asked:
    """A resident who paid a bill asks about it from the receipt page."""
    with console.factory() as db:
        (bill,) = factories.bills(db, [4_200])
        outcome = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test"))
        assert outcome.receipt is not None
        payment = db.get(Payment, outcome.payment.id)
        assert payment is not None
        payment.payer_email = "on-file@example.com"
        made = support.open_request(
            db,
            WIDGET,
            channel=InteractionChannel.WEB,
            priority=SupportPriority.NORMAL,
            contact=contact(email=email),
            message=message,
            targets=sla.Targets.from_settings(console.runtime.settings),
            about=support.about(db, "receipt", outcome.receipt.receipt_number),
        )
        db.commit()
        return Asked(
            made.reference,
            outcome.payment.transaction_id,
            outcome.receipt.receipt_number,
            bill.account.department_id,
            bill.account.customer_id,
        )


def _stored(console: Console, reference: str) -> SupportRequest:
    with console.factory() as db:
        found = support.get(db, reference)
        assert found is not None
        # Loaded while the session is open: the test reads them after.
        assert found.interaction is not None and found.events is not None
        return found


@pytest.fixture(scope="module")
def agent(console: Console) -> TestClient:
    client, _ = signed_in(console, ["agent"])
    return client


def test_a_request_shows_in_the_queue_with_its_payments_live_status(
    console: Console, agent: TestClient
) -> None:
    asked = _asked(console)
    page = agent.get("/staff/support")
    assert page.status_code == 200
    row = re.search(rf'<tr id="request-{asked.reference}">(.*?)</tr>', page.text, re.S)
    assert row, "the request is not in the queue"
    assert asked.transaction_id in row.group(1)
    assert "badge-posted" in row.group(1)
    assert "Nobody yet" in row.group(1)
    # htmx polls the same address for the list alone.
    fragment = agent.get("/staff/support", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="support-queue"')
    assert asked.reference in fragment.text
    assert "HX-Request" in fragment.headers["vary"]


def test_the_queue_filters_by_channel_and_sla(console: Console, agent: TestClient) -> None:
    asked = _asked(console)
    assert asked.reference in agent.get("/staff/support?channel=web").text
    assert asked.reference not in agent.get("/staff/support?channel=kiosk").text
    assert asked.reference not in agent.get("/staff/support?sla=breached").text
    # A bad filter is ignored, never a 500.
    assert agent.get("/staff/support?status=bogus&priority=9&department=x").status_code == 200


def test_the_request_page_shows_the_context_and_marks_what_was_typed(
    console: Console, agent: TestClient
) -> None:
    asked = _asked(console)
    text = agent.get(f"/staff/support/{asked.reference}").text
    assert "Was I charged?" in text
    assert asked.receipt_number in text and "badge-posted" in text
    assert "Funds reached the city" in text  # the live timeline
    assert "on-file@example.com" in text
    assert f"/staff/payments/{asked.transaction_id}#corrections" in text
    # Polled every 10 seconds: the context alone for htmx.
    fragment = agent.get(f"/staff/support/{asked.reference}", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="support-context"')


def test_claim_reply_and_resolve_each_in_the_history(console: Console) -> None:
    asked = _asked(console)
    client, account = signed_in(console, ["agent"])
    url = f"/staff/support/{asked.reference}"
    claimed = post(client, f"{url}/assign")
    assert claimed.status_code == 303
    assert f"{asked.reference} is yours." in client.get(url).text
    replied = post(
        client, f"{url}/reply", {"how": "email", "text": "It went through.", "wait": "yes"}
    )
    assert replied.status_code == 303
    with console.factory() as db:
        sent = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "support_email")
            .order_by(OutboxMessage.id)
        ).all()
        assert sent[-1].payload["kind"] == "reply"
        assert sent[-1].payload["text"] == "It went through."
    stored = _stored(console, asked.reference)
    assert stored.status is SupportStatus.WAITING
    assert stored.interaction.staff_user_id == account.id
    refused = post(client, f"{url}/resolve", {"outcome": "resolved", "note": ""})
    assert refused.status_code == 422
    assert "Say in a few words what was done." in refused.text
    done = post(client, f"{url}/resolve", {"outcome": "resolved", "note": "Confirmed the payment."})
    assert done.status_code == 303
    page = client.get(url).text
    assert "Confirmed the payment." in page
    kinds = [e.kind for e in _stored(console, asked.reference).events]
    assert kinds == ["created", "assigned", "status", "reply", "status", "status"]


def test_resending_the_receipt_goes_to_the_address_on_file(
    console: Console, agent: TestClient
) -> None:
    asked = _asked(console)
    response = post(agent, f"/staff/support/{asked.reference}/receipt", {"to": "file"})
    assert response.status_code == 303
    page = agent.get(f"/staff/support/{asked.reference}").text
    assert f"Receipt {asked.receipt_number} will be emailed to on-file@example.com." in page
    with console.factory() as db:
        queued = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "receipt_email")
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert queued is not None and queued.payload["to"] == "on-file@example.com"
    assert [e.kind for e in _stored(console, asked.reference).events][-1] == "receipt_resent"


def test_notes_and_links_work_as_on_any_interaction(console: Console, agent: TestClient) -> None:
    asked = _asked(console)
    url = f"/staff/support/{asked.reference}"
    assert (
        post(agent, f"{url}/note", {"text": "Card 4111 1111 1111 1111 mentioned"}).status_code
        == 303
    )
    page = agent.get(url).text
    assert "4111 1111 1111 1111" not in page and "mentioned" in page
    wrong = post(agent, f"{url}/link", {"kind": "invoice", "reference": "INV-NOT-THEIRS"})
    assert wrong.status_code == 422
    assert "This customer has no invoice with that number." in wrong.text
    kinds = [e.kind for e in _stored(console, asked.reference).events]
    assert kinds[-1] == "note"


def test_the_interaction_page_of_a_request_leads_to_the_request(
    console: Console, agent: TestClient
) -> None:
    asked = _asked(console)
    stored = _stored(console, asked.reference)
    response = agent.get(f"/staff/interactions/{stored.interaction_id}")
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"/staff/support/{asked.reference}")


def test_department_limits_apply_to_the_queue_and_the_page(console: Console) -> None:
    asked = _asked(console)
    elsewhere = console.department("Elsewhere")
    limited, _ = signed_in(console, ["agent"], departments={"agent": elsewhere})
    assert asked.reference not in limited.get("/staff/support").text
    assert limited.get(f"/staff/support/{asked.reference}").status_code == 404
    assert post(limited, f"/staff/support/{asked.reference}/assign").status_code == 404
    there, _ = signed_in(console, ["agent"], departments={"agent": asked.department_id})
    assert asked.reference in there.get("/staff/support").text


def test_the_home_page_counts_the_queue(console: Console) -> None:
    _asked(console)
    client, _ = signed_in(console, ["agent"])
    text = client.get("/staff/").text
    new = re.search(r"<strong>(\d+)</strong> new", text)
    assert new and int(new.group(1)) >= 1
    assert re.search(r"<strong>0</strong> yours", text)
    auditor, _ = signed_in(console, ["auditor"])
    assert "Support queue" not in auditor.get("/staff/").text


def test_an_unknown_reference_is_a_404(agent: TestClient) -> None:
    assert agent.get("/staff/support/S-2030-999999").status_code == 404
    assert agent.get("/staff/support/not-a-reference").status_code == 404


def test_csrf_is_needed_for_every_action(console: Console, agent: TestClient) -> None:
    asked = _asked(console)
    response = agent.post(f"/staff/support/{asked.reference}/assign", data={})
    assert response.status_code == 403
    token = csrf_from(agent.get(f"/staff/support/{asked.reference}").text)
    assert token
    with transaction(console.factory) as db:
        stored = support.get(db, asked.reference)
        assert stored is not None and stored.interaction.staff_user_id is None


def test_a_reference_read_out_finds_the_request(console: Console, agent: TestClient) -> None:
    asked = _asked(console)
    spoken = asked.reference.lower().replace("-", " ")
    response = agent.get("/staff/search", params={"q": spoken})
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"/staff/support/{asked.reference}")
    auditor, _ = signed_in(console, ["auditor"])
    assert auditor.get("/staff/search", params={"q": asked.reference}).status_code == 200
