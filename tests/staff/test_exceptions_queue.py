"""The exceptions queue and the customer view's flags for money that needs a person."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import select, update
from starlette.testclient import TestClient

from shared.actors import SYSTEM, Actor, ActorType
from shared.exceptions import cases
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import (
    Account,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    Invoice,
    Payment,
    Tender,
)
from shared.payments.recovery import recover
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import token
from tests.staff.conftest import Console, csrf_from, signed_in

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")


def _sandbox(console: Console) -> SandboxGateway:
    gateway = console.runtime.gateway
    assert isinstance(gateway, SandboxGateway)
    return gateway


def _card(bill: Invoice, card_token: str) -> PaymentRequest:
    return PaymentRequest(
        items=(Item(bill.invoice_number),),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        card_token=card_token,
    )


def _overpaid(console: Console, department: str = "Permits") -> tuple[int, Payment]:
    """A customer whose $323.00 permit was paid elsewhere while their card payment was in
    doubt; the processor then approved it: a credit and an overpayment exception."""
    sandbox = _sandbox(console)
    with console.factory() as db:
        (bill,) = factories.bills(db, [32_300])
        bill.account.department.name = department
        db.commit()
        payment = take_payment(
            db, sandbox, _card(bill, token(sandbox, Behaviour.TIMEOUT_APPROVE)), CITIZEN
        ).payment
        db.execute(update(Invoice).where(Invoice.id == bill.id).values(amount_paid=32_300))
        db.execute(update(Account).where(Account.id == bill.account_id).values(balance=0))
        db.commit()
        recover(console.factory, sandbox, dt.timedelta(0))
        return bill.account.customer_id, payment


def test_an_in_doubt_payment_is_flagged_in_words_on_the_customer_view(console: Console) -> None:
    sandbox = _sandbox(console)
    with console.factory() as db:
        (bill,) = factories.bills(db, [7_700])
        payment = take_payment(
            db, sandbox, _card(bill, token(sandbox, Behaviour.TIMEOUT_APPROVE)), CITIZEN
        ).payment
        customer_id = bill.account.customer_id
    agent, _ = signed_in(console, ["agent"])
    text = agent.get(f"/staff/customers/{customer_id}").text
    assert "Being confirmed:" in text
    assert (
        f"Card payment {payment.transaction_id} of $77.00 is waiting for the card "
        "processor's answer (since"
    ) in text
    assert "do not take a second payment for them" in text
    assert "Next check with the processor:" in text


def test_a_credit_shows_beside_the_bills_and_survives_a_refresh(console: Console) -> None:
    customer_id, _payment = _overpaid(console)
    agent, _ = signed_in(console, ["agent"])
    url = f"/staff/customers/{customer_id}"
    page = agent.get(url).text
    assert "Credit:" in page and "holds a credit of $323.00" in page
    assert ">Open bills<" in page and ">Credit<" in page
    assert "-$323.00" in page
    refreshed = agent.post(f"{url}/balances/refresh", data={"csrf_token": csrf_from(page)})
    assert refreshed.status_code == 303
    after = agent.get(url).text
    assert "holds a credit of $323.00" in after and "-$323.00" in after


def test_read_only_roles_cannot_refresh_balances(console: Console) -> None:
    customer_id, _payment = _overpaid(console)
    auditor, _ = signed_in(console, ["auditor"])
    page = auditor.get(f"/staff/customers/{customer_id}").text
    assert "Refresh balances" not in page
    refused = auditor.post(
        f"/staff/customers/{customer_id}/balances/refresh", data={"csrf_token": csrf_from(page)}
    )
    assert refused.status_code == 403


def _case_of(console: Console, payment: Payment) -> ExceptionCase:
    with console.factory() as db:
        return db.scalars(select(ExceptionCase).where(ExceptionCase.payment_id == payment.id)).one()


def test_the_queue_lists_the_overpayment_and_it_is_claimed_and_resolved(
    console: Console,
) -> None:
    _customer_id, payment = _overpaid(console)
    case = _case_of(console, payment)
    agent, account = signed_in(console, ["agent"])
    queue = agent.get("/staff/exceptions?kind=overpayment").text
    assert f'id="exception-{case.id}"' in queue
    assert f"{payment.transaction_id} paid more than bill" in queue
    detail_url = f"/staff/exceptions/{case.id}"
    detail = agent.get(detail_url).text
    assert "Refund or void this payment" in detail
    token = csrf_from(detail)
    assert agent.post(f"{detail_url}/assign", data={"csrf_token": token}).status_code == 303
    mine = agent.get("/staff/exceptions?assignee=me").text
    assert f'id="exception-{case.id}"' in mine
    # Resolving needs an outcome and a note; a card number in the note is masked.
    missing = agent.post(f"{detail_url}/resolve", data={"csrf_token": token, "outcome": ""})
    assert missing.status_code == 422
    assert "Choose what was done" in missing.text and "Say in a few words" in missing.text
    done = agent.post(
        f"{detail_url}/resolve",
        data={
            "csrf_token": token,
            "outcome": "refund_requested",
            "note": "Caller read 4111 1111 1111 1111; refund requested.",
        },
    )
    assert done.status_code == 303
    with console.factory() as db:
        resolved = db.get(ExceptionCase, case.id)
        assert resolved is not None
        assert resolved.status is ExceptionStatus.RESOLVED
        assert (resolved.assignee_id, resolved.resolved_by_id) == (account.id, account.id)
        assert resolved.outcome_note == "Caller read ************1111; refund requested."
    assert f'id="exception-{case.id}"' not in agent.get("/staff/exceptions").text
    assert f'id="exception-{case.id}"' in agent.get("/staff/exceptions?status=resolved").text


def test_department_limits_hold_in_the_queue(console: Console) -> None:
    _customer_id, payment = _overpaid(console, department="Parking")
    case = _case_of(console, payment)
    other = console.department("Libraries")
    limited, _ = signed_in(console, ["agent"], departments={"agent": other})
    assert f'id="exception-{case.id}"' not in limited.get("/staff/exceptions").text
    assert limited.get(f"/staff/exceptions/{case.id}").status_code == 404
    everywhere, _ = signed_in(console, ["agent"])
    assert everywhere.get(f"/staff/exceptions/{case.id}").status_code == 200


def test_filters_by_kind_and_department(console: Console) -> None:
    _customer_id, payment = _overpaid(console, department="Licences")
    with console.factory() as db:
        unrelated = cases.open_case(
            db, SYSTEM, ExceptionKind.LONG_UNKNOWN, f"TX-FILTER-{uuid.uuid4().hex[:6]}"
        )
        db.commit()
        department_id = db.scalars(
            select(Account.department_id)
            .join(ExceptionCase, ExceptionCase.account_id == Account.id)
            .where(ExceptionCase.payment_id == payment.id)
        ).one()
    agent, _ = signed_in(console, ["agent"])
    ids = set(re.findall(r'id="exception-(\d+)"', agent.get("/staff/exceptions").text))
    assert {str(_case_of(console, payment).id), str(unrelated.id)} <= ids
    by_kind = agent.get("/staff/exceptions?kind=long_unknown").text
    assert f'id="exception-{unrelated.id}"' in by_kind
    assert f'id="exception-{_case_of(console, payment).id}"' not in by_kind
    by_department = agent.get(f"/staff/exceptions?department={department_id}").text
    assert f'id="exception-{_case_of(console, payment).id}"' in by_department
    assert f'id="exception-{unrelated.id}"' not in by_department


def test_the_queue_needs_its_permission(console: Console) -> None:
    auditor: TestClient = signed_in(console, ["auditor"])[0]
    assert auditor.get("/staff/exceptions").status_code == 403
