"""Asking for corrections from the staff console and deciding them in the approvals queue,
through the real app, the real sandbox processor, on both databases."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from shared.actors import SYSTEM, Actor, ActorType
from shared.db import utcnow
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import (
    ApprovalRequest,
    ApprovalStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Tender,
)
from shared.payments import settlement
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import token
from tests.staff.conftest import Console, csrf_from, signed_in
from tests.support.apps import runtime_on_fresh_database

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")


def paid_by_card(console: Console, cents: int = 12_000) -> tuple[str, str]:
    """A bill paid by card in the portal: (transaction ID, invoice number)."""
    gateway = console.runtime.gateway
    assert isinstance(gateway, SandboxGateway)
    with console.factory() as db:
        (bill,) = factories.bills(db, [cents])
        payment = take_payment(
            db,
            gateway,
            PaymentRequest(
                items=(Item(bill.invoice_number),),
                tender=Tender.CARD,
                channel="portal",  # type: ignore[arg-type]
                idempotency_key=str(uuid.uuid4()),
                currency="CAD",
                card_token=token(gateway),
                payer_email="payer@example.com",
            ),
            CITIZEN,
        ).payment
        return payment.transaction_id, bill.invoice_number


def form_key(html: str, action: str) -> str:
    found = re.search(rf'action="[^"]*/{action}".*?name="key" value="([^"]+)"', html, re.S)
    assert found is not None
    return found.group(1)


def ask_refund(client: TestClient, tx: str, amount: str, **extra: str) -> object:
    page = client.get(f"/staff/payments/{tx}").text
    return client.post(
        f"/staff/payments/{tx}/refund",
        data={
            "csrf_token": csrf_from(page),
            "key": form_key(page, "refund"),
            "amount": amount,
            "source": "proportion",
            "reason": "service_not_provided",
            "comment": "Permit withdrawn by the city.",
            **extra,
        },
    )


def the_request(console: Console, tx: str) -> ApprovalRequest:
    with console.factory() as db:
        return (
            db.scalars(
                select(ApprovalRequest)
                .join(Payment, Payment.id == ApprovalRequest.payment_id)
                .where(Payment.transaction_id == tx)
                .order_by(ApprovalRequest.id.desc())
            ).first()
            or _missing()
        )


def _missing() -> ApprovalRequest:
    raise AssertionError("no approval request")


def decide(client: TestClient, request_id: int, decision: str, comment: str = "") -> object:
    page = client.get(f"/staff/approvals/{request_id}").text
    return client.post(
        f"/staff/approvals/{request_id}/decide",
        data={"csrf_token": csrf_from(page), "decision": decision, "comment": comment},
    )


def test_an_agent_asks_a_supervisor_approves_and_the_card_is_refunded(console: Console) -> None:
    tx, number = paid_by_card(console)
    agent, _ = signed_in(console, ["agent"])
    asked = ask_refund(agent, tx, "120.00")
    assert asked.status_code == 303  # type: ignore[attr-defined]
    assert "waiting for a supervisor" in agent.get(f"/staff/payments/{tx}").text
    request = the_request(console, tx)
    assert request.status is ApprovalStatus.PENDING
    supervisor, _ = signed_in(console, ["supervisor"])
    queue = supervisor.get("/staff/approvals").text
    assert f'id="approval-{request.id}"' in queue and "Permit withdrawn by the city." in queue
    assert 'hx-trigger="every 10s"' in queue  # the queue refreshes itself
    detail = supervisor.get(f"/staff/approvals/{request.id}").text
    assert "Still refundable" in detail and tx in detail
    done = decide(supervisor, request.id, "approve")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "Approved and done." in supervisor.get(f"/staff/approvals/{request.id}").text
    with console.factory() as db:
        payment = db.scalars(select(Payment).where(Payment.transaction_id == tx)).one()
        bill = db.scalars(select(Invoice).where(Invoice.invoice_number == number)).one()
        assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, 12_000)
        assert (bill.owing, bill.status) == (12_000, InvoiceStatus.OPEN)
    assert f'id="approval-{request.id}"' not in supervisor.get("/staff/approvals").text
    # The agent sees it done, on the payment and in their requests.
    assert "Done" in agent.get("/staff/approvals").text


def test_a_refund_above_what_is_left_names_what_is_left(console: Console) -> None:
    tx, _number = paid_by_card(console, 5_000)
    agent, _ = signed_in(console, ["agent"])
    refused = ask_refund(agent, tx, "50.01")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "At most $50.00 can still be refunded" in refused.text  # type: ignore[attr-defined]


def test_nobody_decides_their_own_request(console: Console) -> None:
    tx, _number = paid_by_card(console)
    supervisor, _ = signed_in(console, ["supervisor"])
    ask_refund(supervisor, tx, "10.00")
    request = the_request(console, tx)
    page = supervisor.get(f"/staff/approvals/{request.id}").text
    assert "another person must decide it" in page and "Send the decision" not in page
    refused = decide(supervisor, request.id, "approve")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "You asked for this yourself" in refused.text  # type: ignore[attr-defined]
    assert the_request(console, tx).status is ApprovalStatus.PENDING


def test_approving_needs_a_sign_in_with_a_second_factor(tmp_path: Path) -> None:
    """A city that lets approvers sign in with a password alone
    (PAYDESK_MFA_REQUIRED_PERMISSIONS without *:approve): they still cannot decide."""
    with runtime_on_fresh_database(
        "sqlite", tmp_path, secret_key="approvals", mfa_required_permissions=("admin:*",)
    ) as runtime:
        console = Console(runtime, runtime.factory)
        tx, _number = paid_by_card(console)
        agent, _ = signed_in(console, ["agent"])
        ask_refund(agent, tx, "10.00")
        request = the_request(console, tx)
        supervisor, _ = signed_in(console, ["supervisor"])  # a password, no code asked
        page = supervisor.get(f"/staff/approvals/{request.id}").text
        assert "needs a sign-in with your authenticator code" in page
        refused = decide(supervisor, request.id, "approve")
        assert refused.status_code == 422  # type: ignore[attr-defined]
        assert the_request(console, tx).status is ApprovalStatus.PENDING


def test_a_rejection_needs_a_comment_and_the_requester_sees_it(console: Console) -> None:
    tx, _number = paid_by_card(console)
    agent, _ = signed_in(console, ["agent"])
    ask_refund(agent, tx, "10.00")
    request = the_request(console, tx)
    supervisor, _ = signed_in(console, ["supervisor"])
    missing = decide(supervisor, request.id, "reject")
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert decide(supervisor, request.id, "reject", "Not our error.").status_code == 303  # type: ignore[attr-defined]
    assert the_request(console, tx).status is ApprovalStatus.REJECTED
    page = agent.get(f"/staff/payments/{tx}").text
    assert "Rejected" in page and "Not our error." in page


def test_an_adjustment_is_asked_from_the_customer_view(console: Console) -> None:
    with console.factory() as db:
        (bill,) = factories.bills(db, [10_000])
        customer_id = bill.account.customer_id
        account_id = bill.account_id
        bill_id = bill.id
    supervisor, _ = signed_in(console, ["supervisor"])
    url = f"/staff/customers/{customer_id}/adjust"
    page = supervisor.get(url).text
    base = {"csrf_token": csrf_from(page), "key": str(uuid.uuid4()), "account": str(account_id)}
    empty = supervisor.post(url, data=base)
    assert empty.status_code == 422
    assert "Choose a reason." in empty.text and "Enter the amount" in empty.text
    too_much = supervisor.post(
        url,
        data=base
        | {
            "direction": "credit",
            "invoice": str(bill_id),
            "amount": "100.01",
            "reason": "waive_fee",
            "comment": "Late fee.",
        },
    )
    assert too_much.status_code == 422 and "owes $100.00" in too_much.text
    asked = supervisor.post(
        url,
        data=base
        | {
            "direction": "credit",
            "invoice": str(bill_id),
            "amount": "25.00",
            "reason": "waive_fee",
            "comment": "Late fee.",
        },
    )
    assert asked.status_code == 303
    assert "waiting for a supervisor" in supervisor.get(f"/staff/customers/{customer_id}").text
    other, _ = signed_in(console, ["supervisor"])
    with console.factory() as db:
        request = db.scalars(
            select(ApprovalRequest).where(ApprovalRequest.account_id == account_id)
        ).one()
    assert decide(other, request.id, "approve").status_code == 303  # type: ignore[attr-defined]
    with console.factory() as db:
        assert db.get(Invoice, bill_id).owing == 7_500  # type: ignore[union-attr]


def test_a_cashier_voids_their_own_counter_payment_straight_away(console: Console) -> None:
    cashier, account = signed_in(console, ["cashier"])
    with console.factory() as db:
        (bill,) = factories.bills(db, [4_000])
        payment = take_payment(
            db,
            console.runtime.gateway,
            PaymentRequest(
                items=(Item(bill.invoice_number),),
                tender=Tender.CASH,
                channel="counter",  # type: ignore[arg-type]
                idempotency_key=str(uuid.uuid4()),
                currency="CAD",
                cash_tendered=4_000,
            ),
            Actor(ActorType.STAFF, account.username, staff_user_id=account.id),
        ).payment
        tx = payment.transaction_id
    page = cashier.get(f"/staff/payments/{tx}").text
    voided = cashier.post(
        f"/staff/payments/{tx}/void",
        data={
            "csrf_token": csrf_from(page),
            "key": form_key(page, "void"),
            "reason": "wrong_amount",
            "comment": "Keyed the wrong bill.",
        },
    )
    assert voided.status_code == 303
    assert "Done: the payment is voided." in cashier.get(f"/staff/payments/{tx}").text
    with console.factory() as db:
        found = db.scalars(select(Payment).where(Payment.transaction_id == tx)).one()
        assert found.status is PaymentStatus.VOIDED


def test_a_chargeback_from_the_processor_shows_on_the_payment_as_the_reports(
    console: Console,
) -> None:
    tx, number = paid_by_card(console, 7_700)
    gateway = console.runtime.gateway
    assert isinstance(gateway, SandboxGateway)
    with console.factory() as db:
        settlement.settle(db, gateway, SYSTEM, until=utcnow())
        payment = db.scalars(select(Payment).where(Payment.transaction_id == tx)).one()
        assert payment.gateway_reference is not None
        gateway.chargeback(reference=payment.gateway_reference)
        settlement.settle(db, gateway, SYSTEM, until=utcnow())
        db.commit()
    request = the_request(console, tx)
    supervisor, _ = signed_in(console, ["supervisor"])
    page = supervisor.get(f"/staff/payments/{tx}")
    assert page.status_code == 200
    assert "The card processor's report" in page.text and "Reversed" in page.text
    detail = supervisor.get(f"/staff/approvals/{request.id}").text
    assert "The card processor's report" in detail and "Charged back" in detail
    with console.factory() as db:
        bill = db.scalars(select(Invoice).where(Invoice.invoice_number == number)).one()
        assert (bill.owing, bill.status) == (7_700, InvoiceStatus.OPEN)
