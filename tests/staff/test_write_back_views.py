"""What staff see of write-back: the flag on the customer view, the state on the payment."""

from __future__ import annotations

import html
import re

from sqlalchemy import update
from starlette.testclient import TestClient

from shared.db import utcnow
from shared.models import OutboxMessage
from tests.integrations.test_write_back import bills_from_tax_system, deliver, pay
from tests.shared.smtp_server import free_port
from tests.staff.conftest import Console, signed_in
from tests.support.source_system import SourceSystem


def page(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.text)


def make_due(console: Console) -> None:
    with console.factory() as db:
        db.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.commit()


def test_pending_write_back_is_flagged_until_the_source_system_confirms(
    console: Console,
) -> None:
    with console.factory() as db:
        tax, _, water = bills_from_tax_system(db)
        receipt = pay(db, tax, water)
        customer_id = tax.account.customer_id
        account_number = tax.account.account_number
        transaction_id = receipt.payment.transaction_id
    agent, _ = signed_in(console, ["agent"])
    customer_url = f"/staff/customers/{customer_id}"
    payment_url = f"/staff/payments/{transaction_id}"

    text = page(agent, customer_url)
    assert "Write-back pending:" in text
    assert (
        f"tax-system has not yet confirmed payment {transaction_id} of $1,250.00 "
        f"to account {account_number}"
    ) in text
    assert "Write-back to source systems" in page(agent, payment_url)

    # The source system is down: staff see the attempts, and why behind a disclosure.
    assert deliver(console.factory, f"http://127.0.0.1:{free_port()}/wb") == 0
    text = page(agent, customer_url)
    assert "Write-back pending:" in text
    disclosure = re.search(r"<details><summary>(.*?)</summary>(.*?)</details>", text, re.S)
    assert disclosure is not None
    assert disclosure[1] == "1 attempt so far; what went wrong"
    assert "ConnectError" in disclosure[2]
    detail = page(agent, payment_url)
    assert "Pending" in detail and "Next attempt" in detail

    make_due(console)
    with SourceSystem() as system:
        assert deliver(console.factory, system.url) == 1
    assert len(system.received) == 1
    assert "Write-back pending:" not in page(agent, customer_url)
    detail = page(agent, payment_url)
    assert "badge-write-back-confirmed" in detail
    assert "Next attempt" not in detail


def test_a_payment_held_in_paydesk_shows_no_write_back(console: Console) -> None:
    with console.factory() as db:
        _, _, water = bills_from_tax_system(db)
        receipt = pay(db, water)
        customer_id = water.account.customer_id
        transaction_id = receipt.payment.transaction_id
    agent, _ = signed_in(console, ["agent"])
    assert "Write-back" not in page(agent, f"/staff/customers/{customer_id}")
    assert "Write-back" not in page(agent, f"/staff/payments/{transaction_id}")
