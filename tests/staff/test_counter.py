"""Taking a payment at the counter, through the whole app: cash, cheque and card (the
sandbox's hosted page, opened by the cashier), one payment whatever the browser does."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from shared.actors import Actor, ActorType
from shared.auth.access import UserPermissions, can
from shared.gateway.sandbox.cards import Behaviour
from shared.models import (
    AccountCredit,
    AccountStatus,
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Channel,
    ExceptionCase,
    ExceptionKind,
    Invoice,
    Payment,
    PaymentStatus,
    Receipt,
    Tender,
    Terminal,
)
from shared.money import Money
from shared.payments.recovery import recover
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.permissions import DEFAULT_ROLES
from shared.web.control_characters import FORM_REFUSED
from staff import counter_routes
from tests import factories
from tests.portal.test_pay import card, hosted
from tests.shared.sandbox import token
from tests.staff.conftest import Console, csrf, csrf_from, signed_in
from tests.staff.test_routes import staff_routes

OURS = {getattr(route, "name", None) for route in counter_routes.routes}


@dataclass
class Bills:
    customer_id: int
    numbers: list[str]
    departments: list[int]


def make_bills(
    console: Console,
    amounts: list[int],
    *,
    partial: tuple[bool, ...] = (),
    status: AccountStatus = AccountStatus.ACTIVE,
) -> Bills:
    """One customer, one account per amount, each in a department of its own."""
    with console.factory() as db:
        customer = factories.customer(db, name="Ada Counter")
        numbers, departments = [], []
        for index, amount in enumerate(amounts):
            dept = factories.department(db, name=f"Department {index + 1}")
            allows = partial[index] if index < len(partial) else True
            fee = factories.fee_type(db, dept, allows_partial=allows)
            account = factories.account(db, customer, dept, status)
            numbers.append(factories.invoice(db, account, fee, amount).invoice_number)
            departments.append(dept.id)
        db.commit()
        return Bills(customer.id, numbers, departments)


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def terminal_of(html: str) -> str:
    found = re.search(r'<option value="(\d+)"', html)
    assert found
    return found.group(1)


def pay_form(client: TestClient, customer_id: int) -> tuple[str, dict[str, str]]:
    page = client.get(f"/staff/customers/{customer_id}/pay")
    assert page.status_code == 200, page.text
    base = {
        "csrf_token": csrf_from(page.text),
        "idempotency_key": field(page.text, "idempotency_key"),
        "terminal": terminal_of(page.text),
    }
    return page.text, base


def one_bill(console: Console, client: TestClient, cents: int) -> tuple[Bills, str, dict[str, str]]:
    """A customer with one bill, and the counter form the cashier opens for them."""
    bills = make_bills(console, [cents])
    _, base = pay_form(client, bills.customer_id)
    return bills, bills.numbers[0], base


def submit(
    client: TestClient, customer_id: int, data: dict[str, str | list[str]]
) -> httpx.Response:
    return client.post(f"/staff/customers/{customer_id}/pay", data=data)


def in_cash(
    base: dict[str, str], amounts: dict[str, str], tendered: str, **extra: str
) -> dict[str, str | list[str]]:
    """The counter form paying each bill (invoice number -> amount typed) in cash."""
    typed = {f"amount-{number}": amount for number, amount in amounts.items()}
    return {
        **base,
        "pay": list(amounts),
        **typed,
        "tender": "cash",
        "cash_tendered": tendered,
        **extra,
    }


def payments_for(console: Console, invoice_number: str) -> list[Payment]:
    with console.factory() as db:
        invoice = db.scalars(select(Invoice).where(Invoice.invoice_number == invoice_number)).one()
        return list(
            db.scalars(select(Payment).where(Payment.allocations.any(invoice_id=invoice.id)))
        )


@pytest.fixture(scope="module")
def cashier(console: Console) -> tuple[TestClient, int]:
    client, account = signed_in(console, ["cashier"])
    return client, account.id


def test_cash_for_two_departments_makes_one_payment_and_one_receipt(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, cashier_id = cashier
    bills = make_bills(console, [150000, 4550], partial=(True, False))
    tax, water = bills.numbers
    page, base = pay_form(client, bills.customer_id)
    assert "Department 1" in page and "Department 2" in page and "Balances as of" in page
    done = submit(
        client,
        bills.customer_id,
        {
            **base,
            "pay": [tax, water],
            f"amount-{tax}": "1000.00",
            "tender": "cash",
            "cash_tendered": "1100.00",
        },
    )
    assert done.status_code == 200, done.text
    change = Money(1100_00 - 1000_00 - 4550, "CAD").format("en")
    assert f"Change due: {change}" in done.text
    assert "Official receipt" in done.text
    (payment,) = payments_for(console, tax)
    assert [p.id for p in payments_for(console, water)] == [payment.id]
    assert payment.status is PaymentStatus.POSTED
    assert payment.channel is Channel.COUNTER and payment.tender is Tender.CASH
    assert payment.amount == 1000_00 + 4550 and payment.change_due == 1100_00 - 1045_50
    assert payment.staff_user_id == cashier_id
    with console.factory() as db:
        terminal = db.get(Terminal, payment.terminal_id)
        assert terminal is not None and terminal.kind == "counter"
        assert terminal.id == int(base["terminal"])
        assert db.scalar(select(func.count()).where(Receipt.payment_id == payment.id)) == 1
        owing = {
            inv.invoice_number: inv.owing
            for inv in db.scalars(select(Invoice).where(Invoice.invoice_number.in_([tax, water])))
        }
        assert owing == {tax: 500_00, water: 0}
    # The balances shown are re-read: only what is still owing is offered.
    again, _ = pay_form(client, bills.customer_id)
    assert tax in again and water not in again
    # "Refresh balances" with htmx re-reads the bills alone.
    fragment = client.get(
        f"/staff/customers/{bills.customer_id}/pay", headers={"HX-Request": "true"}
    )
    assert 'id="counter-bills"' in fragment.text and "<html" not in fragment.text
    assert tax in fragment.text and water not in fragment.text


def test_the_first_counter_terminal_is_created_on_first_use(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills = make_bills(console, [1000])
    page, _ = pay_form(client, bills.customer_id)
    assert "COUNTER-1" in page
    with console.factory() as db:
        codes = db.scalars(select(Terminal.code).where(Terminal.kind == "counter")).all()
        assert "COUNTER-1" in codes


def test_cheque_needs_a_number(console: Console, cashier: tuple[TestClient, int]) -> None:
    client, _ = cashier
    bills = make_bills(console, [2500])
    _, base = pay_form(client, bills.customer_id)
    data: dict[str, str | list[str]] = {
        **base,
        "pay": bills.numbers,
        f"amount-{bills.numbers[0]}": "25.00",
        "tender": "cheque",
    }
    refused = submit(client, bills.customer_id, data)
    assert refused.status_code == 422
    assert "Enter the cheque number." in refused.text and "There is a problem" in refused.text
    assert payments_for(console, bills.numbers[0]) == []
    done = submit(client, bills.customer_id, {**data, "cheque_number": "000123"})
    assert done.status_code == 200
    (payment,) = payments_for(console, bills.numbers[0])
    assert payment.tender is Tender.CHEQUE and payment.cheque_number == "000123"


def test_cash_short_and_bad_amounts_are_refused(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills, number, base = one_bill(console, client, 2500)
    data: dict[str, str | list[str]] = {**base, "pay": [number], "tender": "cash"}
    too_much = submit(
        client, bills.customer_id, {**data, f"amount-{number}": "30", "cash_tendered": "40"}
    )
    assert too_much.status_code == 422 and "Enter no more than" in too_much.text
    short = submit(
        client, bills.customer_id, {**data, f"amount-{number}": "25", "cash_tendered": "20"}
    )
    assert short.status_code == 422 and "less than the amount due" in short.text
    nothing = submit(client, bills.customer_id, {**base, "tender": "cash", "cash_tendered": "5"})
    assert nothing.status_code == 422 and "Choose at least one bill" in nothing.text
    assert payments_for(console, number) == []


def test_double_submit_makes_one_payment(console: Console, cashier: tuple[TestClient, int]) -> None:
    client, _ = cashier
    bills, number, base = one_bill(console, client, 7000)
    data = in_cash(base, {number: "70.00"}, "100")
    first = submit(client, bills.customer_id, data)
    second = submit(client, bills.customer_id, data)
    assert first.status_code == second.status_code == 200
    (payment,) = payments_for(console, number)
    assert payment.transaction_id in first.text and payment.transaction_id in second.text


def test_card_through_the_hosted_page(console: Console, cashier: tuple[TestClient, int]) -> None:
    client, cashier_id = cashier
    bills = make_bills(console, [12000, 3000])
    _, base = pay_form(client, bills.customer_id)
    started = submit(
        client,
        bills.customer_id,
        {
            **base,
            "pay": bills.numbers,
            f"amount-{bills.numbers[0]}": "120.00",
            f"amount-{bills.numbers[1]}": "30.00",
            "tender": "card",
        },
    )
    assert started.status_code == 303, started.text
    back = hosted(client, started.headers["location"], card(Behaviour.APPROVE))
    assert back.startswith("http://testserver/staff/counter/return")
    done = client.get(back)
    assert done.status_code == 200, done.text
    assert "Payment taken" in done.text and "Official receipt" in done.text
    (payment,) = payments_for(console, bills.numbers[0])
    assert payment.status is PaymentStatus.POSTED and payment.tender is Tender.CARD
    assert payment.card_last4 == "4242" and payment.staff_user_id == cashier_id
    assert payment.terminal_id == int(base["terminal"]) and payment.amount == 15000
    # The return again (a refresh): the same payment, not another.
    assert client.get(back).status_code == 200
    assert len(payments_for(console, bills.numbers[1])) == 1


def test_declined_card_is_shown_and_nothing_is_posted(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills = make_bills(console, [5000], partial=(False,))
    _, base = pay_form(client, bills.customer_id)
    started = submit(client, bills.customer_id, {**base, "pay": bills.numbers, "tender": "card"})
    assert started.status_code == 303
    back = client.get(hosted(client, started.headers["location"], card(Behaviour.DECLINE)))
    assert back.status_code == 303
    page = client.get(back.headers["location"])
    assert "The card was declined. No money was taken." in page.text
    # The bill is chosen again, with a new key for the next try.
    assert "checked" in page.text and field(page.text, "idempotency_key") != base["idempotency_key"]
    (payment,) = payments_for(console, bills.numbers[0])
    assert payment.status is PaymentStatus.DECLINED


def test_a_return_nobody_started_is_a_plain_page(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    page = client.get("/staff/counter/return?session=nope")
    assert page.status_code == 200 and "No card payment to finish" in page.text


def test_an_account_on_hold_is_refused(console: Console, cashier: tuple[TestClient, int]) -> None:
    client, _ = cashier
    bills = make_bills(console, [9000], status=AccountStatus.HOLD)
    page, base = pay_form(client, bills.customer_id)
    assert "Account status: On hold" in page
    refused = submit(
        client,
        bills.customer_id,
        {
            **base,
            "pay": bills.numbers,
            f"amount-{bills.numbers[0]}": "90",
            "tender": "cash",
            "cash_tendered": "90",
        },
    )
    assert refused.status_code == 422
    assert "is on hold" in refused.text and "There is a problem" in refused.text
    assert payments_for(console, bills.numbers[0]) == []
    with console.factory() as db:
        assert db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "payment:payment:refused",
                AuditEvent.object_id == base["idempotency_key"],
            )
        ).one()


def test_a_department_limited_cashier_takes_only_their_departments(console: Console) -> None:
    bills = make_bills(console, [1000, 2000])
    mine, theirs = bills.numbers
    client, _ = signed_in(
        console, ["agent", "cashier"], departments={"cashier": bills.departments[0]}
    )
    page, base = pay_form(client, bills.customer_id)
    assert "You cannot take payments for this department." in page
    refused = submit(
        client,
        bills.customer_id,
        in_cash(base, {mine: "10", theirs: "20"}, "30"),
    )
    assert refused.status_code == 422
    assert "You cannot take payments for Department 2 bills." in refused.text
    assert payments_for(console, mine) == [] and payments_for(console, theirs) == []
    done = submit(
        client,
        bills.customer_id,
        {**base, "pay": [mine], f"amount-{mine}": "10", "tender": "cash", "cash_tendered": "10"},
    )
    assert done.status_code == 200
    assert len(payments_for(console, mine)) == 1


def test_a_cashier_limited_to_one_department_sees_no_other_departments_bills(
    console: Console,
) -> None:
    bills = make_bills(console, [1000, 2000])
    mine, theirs = bills.numbers
    client, _ = signed_in(console, ["cashier"], departments={"cashier": bills.departments[0]})
    page, base = pay_form(client, bills.customer_id)
    assert mine in page
    assert theirs not in page and "Department 2" not in page and "20.00" not in page
    with console.factory() as db:
        invoice = db.scalars(select(Invoice).where(Invoice.invoice_number == theirs)).one()
        assert invoice.account.account_number not in page
    # Posting the hidden bill's number takes nothing either.
    refused = submit(
        client,
        bills.customer_id,
        in_cash(base, {theirs: "20"}, "20"),
    )
    assert refused.status_code == 422 and "Some bills are no longer open" in refused.text
    assert theirs not in refused.text
    assert payments_for(console, theirs) == []


def test_a_customer_of_other_departments_is_unknown_at_a_limited_counter(
    console: Console,
) -> None:
    bills = make_bills(console, [1000])
    elsewhere = console.department("Elsewhere")
    client, _ = signed_in(console, ["cashier"], departments={"cashier": elsewhere})
    assert client.get(f"/staff/customers/{bills.customer_id}/pay").status_code == 404
    refused = client.post(
        f"/staff/customers/{bills.customer_id}/pay",
        data={"csrf_token": csrf(client), "pay": bills.numbers, "tender": "cash"},
    )
    assert refused.status_code == 404
    assert payments_for(console, bills.numbers[0]) == []


def test_an_agent_cannot_take_payments(console: Console) -> None:
    bills = make_bills(console, [1000])
    client, _ = signed_in(console, ["agent"])
    assert client.get(f"/staff/customers/{bills.customer_id}/pay").status_code == 403
    page = client.get("/staff/")
    refused = client.post(
        f"/staff/customers/{bills.customer_id}/pay",
        data={"csrf_token": csrf_from(page.text), "pay": bills.numbers, "tender": "cash"},
    )
    assert refused.status_code == 403
    assert payments_for(console, bills.numbers[0]) == []


def test_an_unknown_customer_is_not_found(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    assert client.get("/staff/customers/999999999/pay").status_code == 404


@pytest.mark.parametrize("role", sorted(DEFAULT_ROLES))
def test_every_role_gets_what_its_permissions_allow_here(console: Console, role: str) -> None:
    """The route matrix of tests/staff/test_routes.py, over this work's GET routes, with
    real ids in their paths."""
    bills = make_bills(console, [1000])
    client, _ = signed_in(console, [role])
    owner, _ = signed_in(console, ["agent"])
    started = owner.post(
        f"/staff/customers/{bills.customer_id}/interactions",
        data={"channel": "call", "csrf_token": csrf_from(owner.get("/staff/").text)},
    )
    ids = {
        "{customer_id:int}": str(bills.customer_id),
        "{interaction_id:int}": started.headers["location"].rsplit("/", 1)[1],
    }
    perms = UserPermissions(DEFAULT_ROLES[role][1])
    checked = []
    for path, route in staff_routes(console):
        if route.name not in OURS or "GET" not in (route.methods or set()):
            continue
        for placeholder, value in ids.items():
            path = path.replace(placeholder, value)
        expected = 200 if can(perms, route.endpoint.required_permission) else 403  # type: ignore[attr-defined]
        assert client.get(path).status_code == expected, (role, path)
        checked.append(route.name)
    assert sorted(checked) == [
        "counter_pay",
        "counter_return",
        "customer_interactions",
        "interaction",
        "interaction_new",
    ]


def test_cash_tendered_is_bounded_by_the_most_change_the_counter_gives(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills, number, base = one_bill(console, client, 2500)
    data: dict[str, str | list[str]] = {
        **base,
        "pay": [number],
        f"amount-{number}": "25.00",
        "tender": "cash",
    }
    # Past what the database's integers hold, and merely absurd: the same clear refusal.
    for typed in ("99999999999999999999", "1,000,000,000,000,000", "1025.01"):
        refused = submit(client, bills.customer_id, {**data, "cash_tendered": typed})
        assert refused.status_code == 422, typed
        assert "The change due would be more than $1,000.00." in refused.text
        assert 'id="counter-cash-error"' in refused.text
    for typed in ("0", "-5"):
        refused = submit(client, bills.customer_id, {**data, "cash_tendered": typed})
        assert refused.status_code == 422 and "Enter the cash tendered" in refused.text
    # A part payment of an absurd amount is refused as more than is owing.
    huge = submit(
        client,
        bills.customer_id,
        {**data, f"amount-{number}": "99999999999999999999", "cash_tendered": "30"},
    )
    assert huge.status_code == 422 and "Enter no more than" in huge.text
    assert payments_for(console, number) == []
    done = submit(client, bills.customer_id, {**data, "cash_tendered": "1025.00"})
    assert done.status_code == 200
    (payment,) = payments_for(console, number)
    assert payment.change_due == 1000_00


def test_a_declined_card_form_sent_again_takes_cash_with_a_new_key(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills = make_bills(console, [5000], partial=(False,))
    number = bills.numbers[0]
    _, base = pay_form(client, bills.customer_id)
    started = submit(client, bills.customer_id, {**base, "pay": [number], "tender": "card"})
    client.get(hosted(client, started.headers["location"], card(Behaviour.DECLINE)))
    # Back to the first form (its key is the declined card's), now paid in cash.
    cash: dict[str, str | list[str]] = {
        **base,
        "pay": [number],
        "tender": "cash",
        "cash_tendered": "50",
    }
    for _attempt in range(2):  # sent twice, still nothing taken
        again = submit(client, bills.customer_id, cash)
        assert again.status_code == 409
        assert "was declined, so no money was taken" in again.text
        assert "Waiting for the card processor" not in again.text
        assert field(again.text, "idempotency_key") != base["idempotency_key"]
        assert [p.status for p in payments_for(console, number)] == [PaymentStatus.DECLINED]
    fresh = {**cash, "idempotency_key": field(again.text, "idempotency_key")}
    done = submit(client, bills.customer_id, fresh)
    assert done.status_code == 200 and "Payment taken" in done.text
    statuses = sorted(p.status for p in payments_for(console, number))
    assert statuses == [PaymentStatus.DECLINED, PaymentStatus.POSTED]


def test_a_card_in_doubt_still_blocks_its_form(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills = make_bills(console, [5000], partial=(False,))
    number = bills.numbers[0]
    _, base = pay_form(client, bills.customer_id)
    started = submit(client, bills.customer_id, {**base, "pay": [number], "tender": "card"})
    back = client.get(hosted(client, started.headers["location"], card(Behaviour.TIMEOUT_DECLINE)))
    assert "Waiting for the card processor" in back.text and "Unknown: being confirmed" in back.text
    cash = {**base, "pay": [number], "tender": "cash", "cash_tendered": "50"}
    again = submit(client, bills.customer_id, cash)
    assert again.status_code == 200 and "Waiting for the card processor" in again.text
    assert [p.status for p in payments_for(console, number)] == [PaymentStatus.UNKNOWN]


def test_the_result_page_says_the_status_in_words(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills, number, base = one_bill(console, client, 1000)
    done = submit(
        client,
        bills.customer_id,
        in_cash(base, {number: "10"}, "10"),
    )
    assert done.status_code == 200
    assert "<dd>Posted</dd>" in done.text and ">posted<" not in done.text


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        # A zero-width space, pasted with the number.
        ({"cheque_number": "12\u200b3"}, "Enter the cheque number as it is printed on the cheque."),
        ({"cheque_number": "1" * 41}, "The cheque number is too long."),
        ({"idempotency_key": "k" * 5000}, "This payment form is not valid any more."),
        ({"idempotency_key": "not-a-key-we-made"}, "This payment form is not valid any more."),
        ({"idempotency_key": ""}, "This payment form is not valid any more."),
        ({"terminal": "\u00b2"}, "Choose the counter you are working at."),
        ({"terminal": "9" * 5000}, "Choose the counter you are working at."),
    ],
)
def test_tampered_or_unusable_fields_are_refused_clearly(
    console: Console, cashier: tuple[TestClient, int], changed: dict[str, str], message: str
) -> None:
    """On PostgreSQL an over-long key or cheque number used to reach the database (a 500)."""
    client, _ = cashier
    bills, number, base = one_bill(console, client, 2500)
    data = {**base, "pay": [number], f"amount-{number}": "25", "tender": "cheque"}
    refused = submit(client, bills.customer_id, {**data, "cheque_number": "000123", **changed})
    assert refused.status_code == 422
    assert message in refused.text
    assert payments_for(console, number) == []


def test_a_cheque_number_typed_for_cash_is_not_kept(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    client, _ = cashier
    bills, number, base = one_bill(console, client, 2500)
    done = submit(
        client,
        bills.customer_id,
        in_cash(base, {number: "25"}, "25", cheque_number="1\u200b" + "2" * 60),
    )
    assert done.status_code == 200
    (payment,) = payments_for(console, number)
    assert payment.tender is Tender.CASH and payment.cheque_number is None


@pytest.mark.parametrize("name", ["cheque_number", "idempotency_key", "cash_tendered"])
def test_a_nul_byte_in_a_counter_field_is_a_clear_refusal(
    console: Console, cashier: tuple[TestClient, int], name: str
) -> None:
    """PostgreSQL cannot hold a NUL in text: it must never get that far (it was a 500)."""
    client, _ = cashier
    bills, number, base = one_bill(console, client, 2500)
    tender = "cash" if name == "cash_tendered" else "cheque"
    data = {**base, "pay": [number], f"amount-{number}": "25", "tender": tender}
    sent = {"cheque_number": "000123", "cash_tendered": "25", **data}
    refused = submit(client, bills.customer_id, {**sent, name: f"12\x00{sent[name]}"})
    assert refused.status_code == 400
    assert FORM_REFUSED in refused.text
    assert payments_for(console, number) == []


def test_a_bill_whose_card_payment_is_being_confirmed_is_held_at_the_counter(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    """A resident's card payment for the bill timed out; they come to the counter to pay
    cash. The cashier sees the bill is being confirmed, and cash for it is refused."""
    client, _ = cashier
    bills, number, _base = one_bill(console, client, 32_300)
    gateway = console.runtime.gateway
    with console.factory() as db:
        take_payment(
            db,
            gateway,
            PaymentRequest(
                items=(Item(number),),
                tender=Tender.CARD,
                channel="portal",  # type: ignore[arg-type]
                idempotency_key=str(uuid.uuid4()),
                currency="CAD",
                card_token=token(gateway, Behaviour.TIMEOUT_APPROVE),  # type: ignore[arg-type]
            ),
            Actor(ActorType.CITIZEN, "portal-session"),
        )
    page, base = pay_form(client, bills.customer_id)
    assert "A payment of $323.00 for bill" in page and "is being confirmed" in page
    refused = submit(client, bills.customer_id, in_cash(base, {number: "323.00"}, "323.00"))
    assert refused.status_code == 422
    assert "There is no need to pay it again." in refused.text
    assert [p.tender for p in payments_for(console, number)] == [Tender.CARD]


def test_an_approved_override_lets_the_counter_take_a_held_bill_once(
    console: Console, cashier: tuple[TestClient, int]
) -> None:
    """The resident cannot wait for the card processor: the cashier asks for an override, a
    supervisor approves, the cash is taken. When the card payment is approved after all,
    the excess is a credit with an overpayment exception, never a silent double charge."""
    client, _ = cashier
    bills, number, _base = one_bill(console, client, 32_300)
    gateway = console.runtime.gateway
    with console.factory() as db:
        take_payment(
            db,
            gateway,
            PaymentRequest(
                items=(Item(number),),
                tender=Tender.CARD,
                channel="portal",  # type: ignore[arg-type]
                idempotency_key=str(uuid.uuid4()),
                currency="CAD",
                card_token=token(gateway, Behaviour.TIMEOUT_APPROVE),  # type: ignore[arg-type]
            ),
            Actor(ActorType.CITIZEN, "portal-session"),
        )
    page, _ = pay_form(client, bills.customer_id)
    asked = client.post(
        f"/staff/customers/{bills.customer_id}/override",
        data={
            "csrf_token": csrf_from(page),
            "key": field(page, "key"),
            "bill": number,
            "reason": "payment_in_doubt",
            "comment": "Resident paying cash; card page timed out.",
        },
    )
    assert asked.status_code == 303
    assert "Override asked for" in client.get(f"/staff/customers/{bills.customer_id}/pay").text
    with console.factory() as db:
        override = db.scalars(
            select(ApprovalRequest).where(ApprovalRequest.customer_id == bills.customer_id)
        ).one()
    supervisor, _ = signed_in(console, ["supervisor"])
    decision_page = supervisor.get(f"/staff/approvals/{override.id}").text
    decided = supervisor.post(
        f"/staff/approvals/{override.id}/decide",
        data={"csrf_token": csrf_from(decision_page), "decision": "approve", "comment": ""},
    )
    assert decided.status_code == 303
    page, base = pay_form(client, bills.customer_id)
    assert "Use the override" in page
    taken = submit(
        client,
        bills.customer_id,
        in_cash(base, {number: "323.00"}, "323.00", override=str(override.id)),
    )
    assert taken.status_code == 200, taken.text
    assert "Official receipt" in taken.text
    with console.factory() as db:
        assert db.get(ApprovalRequest, override.id).status is ApprovalStatus.EXECUTED  # type: ignore[union-attr]
    # Used up: the same form again cannot pay the bill a second time.
    _page, base = pay_form(client, bills.customer_id)
    again = submit(
        client,
        bills.customer_id,
        in_cash(base, {number: "323.00"}, "323.00", override=str(override.id)),
    )
    assert again.status_code == 422
    # The processor approves the card payment after all: a credit, not a silent overpayment.
    recover(console.factory, gateway, dt.timedelta(0))
    with console.factory() as db:
        credit = db.scalars(select(AccountCredit)).all()
        assert [c.amount for c in credit if c.account_id == _account_of(db, number)] == [32_300]
        assert db.scalars(
            select(ExceptionCase).where(ExceptionCase.kind == ExceptionKind.OVERPAYMENT)
        ).first()


def _account_of(db: Session, number: str) -> int:
    return db.scalars(select(Invoice.account_id).where(Invoice.invoice_number == number)).one()


@pytest.mark.parametrize(
    "typed", ["4111111111111111", "4111-1111 1111/1111", "5555,5555,5555,4444"]
)
def test_a_card_number_as_a_cheque_number_is_refused(
    console: Console, cashier: tuple[TestClient, int], typed: str
) -> None:
    client, _ = cashier
    bills = make_bills(console, [2500])
    _, base = pay_form(client, bills.customer_id)
    data: dict[str, str | list[str]] = {
        **base,
        "pay": bills.numbers,
        f"amount-{bills.numbers[0]}": "25.00",
        "tender": "cheque",
        "cheque_number": typed,
    }
    refused = submit(client, bills.customer_id, data)
    assert refused.status_code == 422
    assert "This looks like a card number." in refused.text
    assert payments_for(console, bills.numbers[0]) == []
