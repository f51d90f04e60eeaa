"""The audit trail for auditors: filtered, per customer, verified, exported."""

from __future__ import annotations

import csv
import io
import re

from starlette.testclient import TestClient

from shared.actors import Actor, ActorType
from shared.models import Customer
from tests import factories
from tests.staff.conftest import Console, signed_in


def _paid(console: Console, name: str) -> tuple[int, str]:
    with console.factory() as db:
        (bill,) = factories.bills(db, [2_500])
        bill.account.customer.name = name
        db.commit()
        outcome = factories.paid_in_cash(db, bill, Actor(ActorType.STAFF, "audit-cashier"))
        customer = db.get(Customer, outcome.payment.customer_id)
        assert customer is not None
        return customer.id, outcome.payment.transaction_id


def _events(html: str) -> list[str]:
    return re.findall(r"<td><code>([a-z_:]+)</code></td>", html)


def test_the_log_filters_by_event_actor_and_object(console: Console) -> None:
    _customer, tx = _paid(console, "Audit One")
    auditor, _ = signed_in(console, ["auditor"])
    everything = auditor.get("/staff/audit").text
    assert "payment:payment:created" in everything
    by_object = auditor.get(f"/staff/audit?object_type=payment&object_id={tx}").text
    assert set(_events(by_object)) == {"payment:payment:created", "payment:status:changed"}
    by_action = auditor.get("/staff/audit?action=receipt").text
    assert _events(by_action) and all(e.startswith("receipt:") for e in _events(by_action))
    by_actor = auditor.get("/staff/audit?actor=audit-cashier&action=payment:payment").text
    assert _events(by_actor) and set(_events(by_actor)) == {"payment:payment:created"}
    bad = auditor.get("/staff/audit?from=yesterday")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


def test_a_customers_trail_is_theirs_only(console: Console) -> None:
    mine, tx = _paid(console, "Audit Mine")
    _other, other_tx = _paid(console, "Audit Other")
    auditor, _ = signed_in(console, ["auditor"])
    trail = auditor.get(f"/staff/customers/{mine}/audit").text
    assert tx in trail and other_tx not in trail
    assert "Audit trail of Audit Mine" in trail


def test_the_chain_is_verified_on_demand(console: Console) -> None:
    _paid(console, "Audit Chain")
    auditor, _ = signed_in(console, ["auditor"])
    page = auditor.get("/staff/audit/verify").text
    assert re.search(r"Verified now: all \d+ events are as they were written.", page)


def test_the_log_downloads_as_csv_with_every_matching_event(console: Console) -> None:
    _customer, tx = _paid(console, "Audit CSV")
    auditor, _ = signed_in(console, ["auditor"])
    answer = auditor.get(f"/staff/audit.csv?object_type=payment&object_id={tx}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:5] == ["seq", "at", "actor_type", "actor_id", "action"]
    assert {row[4] for row in rows[1:]} == {"payment:payment:created", "payment:status:changed"}
    assert all(row[6] == tx for row in rows[1:])


def test_only_auditors_and_admins_read_the_trail(console: Console) -> None:
    agent: TestClient = signed_in(console, ["agent"])[0]
    assert agent.get("/staff/audit").status_code == 403
    assert agent.get("/staff/audit.csv").status_code == 403
