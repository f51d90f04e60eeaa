"""Find anything, through the real app on both databases: each identifier jumps to its
record, names/emails/phones/card+amount search, filters, keyset pages, the CSV export.

`world` (reused by the customer view and payment detail tests) builds one customer with
accounts in three departments, a real cash payment with its receipt and audit events,
card payments (two of them a duplicate suspect) and a long history to page through."""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import io
import itertools
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from shared.actors import Actor, ActorType
from shared.customers import search
from shared.db import transaction
from shared.identifiers import transaction_id
from shared.models import (
    Account,
    AccountStatus,
    Allocation,
    Channel,
    Customer,
    Department,
    Invoice,
    Payment,
    PaymentStatus,
    Tender,
    Terminal,
)
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.web.control_characters import ADDRESS_REFUSED
from staff import search_views
from tests import factories
from tests.staff.conftest import Console, sign_in, signed_in
from tests.support.apps import BASE_URL

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
_numbers = itertools.count(1)


@dataclass
class World:
    tax: int
    water: int
    parks: int
    customer_id: int
    customer_number: str
    other_customer_id: int
    accounts: dict[str, str]  # department -> account number
    account_ids: dict[str, int]
    invoice_number: str
    cash_tx: str
    receipt_number: str
    card_txs: list[str]
    terminal_id: int
    history_customer_id: int
    history_name: str
    history_txs: list[str] = field(default_factory=list)


def add_payment(
    db: object,
    customer: Customer,
    account: Account,
    invoice: Invoice,
    amount: int,
    at: dt.datetime,
    *,
    channel: Channel = Channel.PORTAL,
    status: PaymentStatus = PaymentStatus.SETTLED,
    last4: str | None = None,
    terminal_id: int | None = None,
) -> Payment:
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    payment = Payment(
        transaction_id=transaction_id(),
        idempotency_key=f"test-{secrets.token_hex(8)}",
        customer_id=customer.id,
        channel=channel,
        terminal_id=terminal_id,
        amount=amount,
        currency="CAD",
        tender=Tender.CARD if last4 else Tender.CASH,
        status=status,
        card_brand="visa" if last4 else None,
        card_last4=last4,
        gateway="sandbox" if last4 else None,
        gateway_reference=f"sbx_{secrets.token_hex(4)}" if last4 else None,
        created_at=at,
        updated_at=at,
        posted_at=at,
    )
    db.add(payment)
    db.flush()
    db.add(
        Allocation(
            payment_id=payment.id,
            invoice_id=invoice.id,
            account_id=account.id,
            fee_type_id=invoice.fee_type_id,
            department_id=account.department_id,
            gl_account="4000-100",
            amount=amount,
        )
    )
    return payment


def build_world(console: Console) -> World:
    tag = secrets.token_hex(3)
    with transaction(console.factory) as db:
        depts = {name: factories.department(db, name=name) for name in ("Tax", "Water", "Parks")}
        fees = {
            name: factories.fee_type(db, dept, gl=f"4{i}00-{i}10")
            for i, (name, dept) in enumerate(depts.items(), start=1)
        }
        emilie = Customer(
            customer_number=f"C-{next(_numbers):06d}{tag.upper()}",
            name=f"Émilie Tremblay-{tag}",
            email=f"emilie.{tag}@example.org",
            phone=f"+1 (613) 555-{next(_numbers):04d}",
            preferred_locale="fr",
        )
        other = Customer(customer_number=f"C-9{tag.upper()}", name=f"Zed Other {tag}")
        db.add_all([emilie, other])
        db.flush()
        accounts = {name: factories.account(db, emilie, dept) for name, dept in depts.items()}
        accounts["Parks"].status = AccountStatus.HOLD
        accounts["Parks"].status_reason = "Returned cheque"
        for account in accounts.values():
            account.balance_as_of = NOW
        invoices = {
            name: factories.invoice(db, accounts[name], fees[name], amount)
            for name, amount in (("Tax", 120_000), ("Water", 8_000), ("Parks", 5_000))
        }
        terminal = Terminal(code=f"CTR-{tag}", kind="counter", location="City Hall")
        db.add(terminal)
        history = Customer(customer_number=f"C-8{tag.upper()}", name=f"Hilda Historia {tag}")
        db.add(history)
        db.flush()
        history_account = factories.account(db, history, depts["Water"])
        history_invoice = factories.invoice(db, history_account, fees["Water"], 10**8)
        # Card payments: two of the same amount on the same account 5 minutes apart.
        card = [
            add_payment(
                db,
                emilie,
                accounts["Tax"],
                invoices["Tax"],
                12_550,
                NOW - dt.timedelta(days=2, minutes=m),
                last4="4242",
            )
            for m in (0, 5)
        ]
        card.append(
            add_payment(
                db,
                emilie,
                accounts["Water"],
                invoices["Water"],
                3_300,
                NOW - dt.timedelta(days=40),
                last4="1881",
                channel=Channel.KIOSK,
                terminal_id=terminal.id,
            )
        )
        # A long history, some rows sharing a timestamp so pages must break ties by id.
        history_txs = []
        for i in range(123):
            at = NOW - dt.timedelta(hours=i // 3)
            channel = Channel.COUNTER if i % 2 else Channel.PORTAL
            status = PaymentStatus.POSTED if i % 3 else PaymentStatus.SETTLED
            p = add_payment(
                db,
                history,
                history_account,
                history_invoice,
                1_000 + i,
                at,
                channel=channel,
                status=status,
            )
            history_txs.append(p.transaction_id)
        db.flush()
        world = World(
            tax=depts["Tax"].id,
            water=depts["Water"].id,
            parks=depts["Parks"].id,
            customer_id=emilie.id,
            customer_number=emilie.customer_number,
            other_customer_id=other.id,
            accounts={name: a.account_number for name, a in accounts.items()},
            account_ids={name: a.id for name, a in accounts.items()},
            invoice_number=invoices["Water"].invoice_number,
            cash_tx="",
            receipt_number="",
            card_txs=[p.transaction_id for p in card],
            terminal_id=terminal.id,
            history_customer_id=history.id,
            history_name=history.name,
            history_txs=history_txs,
        )
    # A real cash payment at the counter over two departments: history, receipt, audit.
    db = console.factory()
    try:
        outcome = take_payment(
            db,
            console.runtime.gateway,
            PaymentRequest(
                items=(
                    Item(invoices["Tax"].invoice_number),
                    Item(invoices["Water"].invoice_number, 2_000),
                ),
                tender=Tender.CASH,
                channel=Channel.COUNTER,
                idempotency_key=f"world-{tag}",
                currency="CAD",
                cash_tendered=200_000,
                payer_email=f"payer.{tag}@example.org",
            ),
            Actor(ActorType.STAFF, "cashier-test"),
        )
        assert outcome.receipt is not None
        world.cash_tx = outcome.payment.transaction_id
        world.receipt_number = outcome.receipt.receipt_number
    finally:
        db.close()
    return world


@pytest.fixture(scope="module")
def world(console: Console) -> World:
    return build_world(console)


@pytest.fixture(scope="module")
def agent(console: Console) -> TestClient:
    client, _ = signed_in(console, ["agent"])
    return client


def _location(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


# -- identifiers jump to the record ----------------------------------------------------


def test_each_identifier_jumps_to_its_record(agent: TestClient, world: World) -> None:
    customer = f"/staff/customers/{world.customer_id}"
    cases = {
        world.customer_number: customer,
        world.customer_number.lower(): customer,
        world.accounts["Tax"]: f"{customer}#account-{world.account_ids['Tax']}",
        world.invoice_number: customer,
        world.receipt_number: f"/staff/payments/{world.cash_tx}",
        world.receipt_number.lower().replace("-", " "): f"/staff/payments/{world.cash_tx}",
        world.cash_tx: f"/staff/payments/{world.cash_tx}",
    }
    for typed, target in cases.items():
        parts = urlsplit(_location(agent.get("/staff/search", params={"q": typed})))
        assert parts.path == target.split("#")[0], typed
        if "#" in target:
            assert parts.fragment == target.split("#")[1], typed
    invoice = urlsplit(_location(agent.get("/staff/search", params={"q": world.invoice_number})))
    assert invoice.fragment.startswith("invoice-")


def test_a_loosely_typed_transaction_id(agent: TestClient, world: World) -> None:
    tx = world.cash_tx  # TX-XXXX-XXXX-XXXX: Crockford, so never I, L, O or U
    loose = tx.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    location = _location(agent.get("/staff/search", params={"q": f"  {loose} "}))
    assert urlsplit(location).path == f"/staff/payments/{tx}"
    squashed = tx.replace("-", "")
    assert urlsplit(_location(agent.get("/staff/search", params={"q": squashed}))).path.endswith(tx)


def test_an_unknown_identifier_searches_instead(agent: TestClient, world: World) -> None:
    response = agent.get("/staff/search", params={"q": "TAX-999999999"})
    assert response.status_code == 200
    assert "No customers match." in response.text


def test_htmx_search_hit_asks_for_a_full_page_load(agent: TestClient, world: World) -> None:
    response = agent.get(
        "/staff/search", params={"q": world.customer_number}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith(f"/staff/customers/{world.customer_id}")


def test_identifiers_typed_without_their_dashes_jump(
    agent: TestClient, world: World, console: Console
) -> None:
    """Callers read numbers aloud; agents type them without the dashes."""
    with transaction(console.factory) as db:
        dept = db.get(Department, world.tax)
        assert dept is not None
        customer = Customer(customer_number="C-700123", name="Dashless Dan")
        db.add(customer)
        db.flush()
        account = factories.account(db, customer, dept)
        account.account_number = "TAX-700123"
        invoice = factories.invoice(db, account, factories.fee_type(db, dept), 100)
        invoice.invoice_number = "B-2026-700123"
        db.flush()
        page = f"/staff/customers/{customer.id}"
        cases = {
            "C700123": page,
            "c700123": page,
            "TAX700123": f"{page}#account-{account.id}",
            "tax700123": f"{page}#account-{account.id}",
            "B2026700123": f"{page}#invoice-{invoice.id}",
            "b2026700123": f"{page}#invoice-{invoice.id}",
        }
    receipt = world.receipt_number.replace("-", "")
    cases |= {receipt: f"/staff/payments/{world.cash_tx}"}
    cases |= {receipt.lower(): f"/staff/payments/{world.cash_tx}"}
    for typed, target in cases.items():
        parts = urlsplit(_location(agent.get("/staff/search", params={"q": typed})))
        assert (parts.path, parts.fragment) == tuple(f"{target}#".split("#")[:2]), typed


# -- bad input gets an answer, never a 500 ---------------------------------------------


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


HUGE = "9" * 23


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"q": "emilie", "to": "9999-12-31"}, 200, ""),
        ({"department": "\u00b2"}, 422, "Choose a department from the list."),
        ({"terminal": "\u00b2"}, 422, "Choose a terminal from the list."),
        ({"department": HUGE}, 422, "Choose a department from the list."),
        ({"terminal": HUGE}, 422, "Choose a terminal from the list."),
        ({"min": HUGE}, 422, "That amount is too large to search for."),
        ({"max": f"-{HUGE}"}, 422, "That amount is too large to search for."),
        ({"q": f"4242 {HUGE}"}, 200, "No payments match."),
        ({"q": "emilie", "after": _cursor(f"0.{HUGE}")}, 200, ""),
        ({"q": "emilie\x07"}, 422, "The search holds an invisible control character."),
        ({"q": "C-1\x1b"}, 422, "The search holds an invisible control character."),
    ],
)
def test_out_of_range_input_gets_an_answer(
    agent: TestClient, world: World, params: dict[str, str], status: int, message: str
) -> None:
    response = agent.get("/staff/search", params=params)
    assert response.status_code == status, response.text[:300]
    assert message in response.text


@pytest.mark.parametrize("typed", ["a@b\x00", "emilie\x00", "C-1\x00"])
def test_a_nul_in_the_search_is_refused(agent: TestClient, world: World, typed: str) -> None:
    # The app refuses a NUL anywhere in an address before any view: never a database error.
    response = agent.get("/staff/search", params={"q": typed})
    assert response.status_code == 400
    assert ADDRESS_REFUSED in response.text
    assert world.cash_tx not in response.text


def test_out_of_range_input_in_the_export_and_the_customer_page(
    agent: TestClient, world: World
) -> None:
    response = agent.get("/staff/search.csv", params={"q": world.history_name, "to": "9999-12-31"})
    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(response.text)))) == 1 + len(world.history_txs)
    assert agent.get("/staff/search.csv", params={"min": HUGE}).status_code == 422
    page = agent.get(
        f"/staff/customers/{world.customer_id}", params={"payments_after": _cursor(f"0.{HUGE}")}
    )
    assert page.status_code == 200


# -- names, emails, phones, card + amount ----------------------------------------------


@pytest.mark.parametrize("typed", ["emilie", "ÉMILIE", "Emilie tremb", "EMIL", "trem émi"])
def test_name_search_is_by_word_start_and_case_and_accent_insensitive(
    agent: TestClient, world: World, typed: str
) -> None:
    response = agent.get("/staff/search", params={"q": typed})
    assert response.status_code == 200
    assert f'/staff/customers/{world.customer_id}"' in response.text
    assert "Zed Other" not in response.text


def test_email_and_phone_partial(agent: TestClient, world: World, console: Console) -> None:
    with transaction(console.factory) as db:
        customer = db.get(Customer, world.customer_id)
        assert customer is not None and customer.email and customer.phone
        email, phone = customer.email, customer.phone
    typed_phones = (phone, phone[-8:], "613555" + phone[-4:], f"613.555.{phone[-4:]}")
    for typed in (email.split("@")[0].upper(), email, email[:8], *typed_phones):
        response = agent.get("/staff/search", params={"q": typed})
        assert f'/staff/customers/{world.customer_id}"' in response.text, typed


def test_a_phone_typed_with_the_country_code_finds_one_stored_without(
    agent: TestClient, console: Console
) -> None:
    last4 = f"{secrets.randbelow(10_000):04d}"
    with transaction(console.factory) as db:
        customer = factories.customer(db, name="Nat Ional")
        customer.phone = f"819 555 {last4}"
    for typed in (f"+1 819 555 {last4}", f"1-819-555-{last4}", f"1819555{last4}"):
        response = agent.get("/staff/search", params={"q": typed})
        assert f'/staff/customers/{customer.id}"' in response.text, typed


def test_a_payer_email_finds_the_payment(agent: TestClient, world: World) -> None:
    tag = world.history_name.split()[-1]
    for typed in (f"payer.{tag}@example.org", f"PAYER.{tag}@EXAMPLE.ORG"):
        assert world.cash_tx in agent.get("/staff/search", params={"q": typed}).text, typed


def test_card_last4_and_amount(agent: TestClient, world: World) -> None:
    response = agent.get("/staff/search", params={"q": "4242 125.50"})
    assert response.status_code == 200
    for tx in world.card_txs[:2]:
        assert tx in response.text
    assert world.card_txs[2] not in response.text
    assert world.card_txs[0] not in agent.get("/staff/search", params={"q": "4242 125.51"}).text
    # The amount first works the same.
    swapped = agent.get("/staff/search", params={"q": "125.50 4242"}).text
    assert all(tx in swapped for tx in world.card_txs[:2])
    assert world.card_txs[2] not in swapped


def test_a_name_with_typos_lists_close_matches_when_none_is_exact(
    agent: TestClient, console: Console
) -> None:
    tag = secrets.token_hex(3)
    with transaction(console.factory) as db:
        customer = factories.customer(db, name=f"Amira Chen {tag}")
        db.flush()
        customer_id = customer.id
    page = agent.get("/staff/search", params={"q": f"Amira Chn {tag}"}).text
    assert "No customer matches exactly" in page
    assert f"/staff/customers/{customer_id}" in page.split("close-matches", 1)[1]
    exact = agent.get("/staff/search", params={"q": f"Amira Chen {tag}"}).text
    assert "No customer matches exactly" not in exact and f"/staff/customers/{customer_id}" in exact


def test_a_customer_added_or_renamed_is_found_at_once(agent: TestClient, console: Console) -> None:
    tag = secrets.token_hex(3)
    with transaction(console.factory) as db:
        customer = factories.customer(db, name=f"Noémie Gagnon {tag}")
    found = agent.get("/staff/search", params={"q": f"noemie {tag}"}).text
    assert f'/staff/customers/{customer.id}"' in found
    with transaction(console.factory) as db:
        renamed = db.get(Customer, customer.id)
        assert renamed is not None
        renamed.name = f"Noémie Côté {tag}"
    assert f'/staff/customers/{customer.id}"' in (
        agent.get("/staff/search", params={"q": f"cote {tag}"}).text
    )
    gone = agent.get("/staff/search", params={"q": f"gagnon {tag}"}).text
    assert f'/staff/customers/{customer.id}"' not in gone


def test_payments_of_matching_customers_show_status_and_channel(
    agent: TestClient, world: World
) -> None:
    text = agent.get("/staff/search", params={"q": "emilie"}).text
    assert world.cash_tx in text and "badge-posted" in text and "Counter" in text


# -- filters ---------------------------------------------------------------------------


def _txs(text: str) -> set[str]:
    return {part.split('"')[0] for part in text.split("/staff/payments/")[1:]}


def test_filters(agent: TestClient, world: World) -> None:
    def found(**params: str) -> set[str]:
        response = agent.get("/staff/search", params={"q": "emilie", **params})
        assert response.status_code == 200, response.text[:300]
        return _txs(response.text)

    everything = found()
    assert set(world.card_txs) | {world.cash_tx} <= everything
    assert found(channel="kiosk") == {world.card_txs[2]}
    assert found(terminal=str(world.terminal_id)) == {world.card_txs[2]}
    assert found(department=str(world.water)) == {world.card_txs[2], world.cash_tx}
    assert found(status="posted") == {world.cash_tx}
    assert found(min="125.50", max="125.50") == set(world.card_txs[:2])
    old = (NOW - dt.timedelta(days=41)).date().isoformat()
    recent = (NOW - dt.timedelta(days=39)).date().isoformat()
    assert found(**{"from": old, "to": recent}) == {world.card_txs[2]}
    assert world.cash_tx not in found(to=old)


def test_filters_alone_list_payments_and_bad_filters_say_why(
    agent: TestClient, world: World
) -> None:
    response = agent.get("/staff/search", params={"channel": "kiosk"})
    assert world.card_txs[2] in response.text
    bad = agent.get("/staff/search", params={"q": "x", "min": "lots", "from": "31/12/2026"})
    assert bad.status_code == 422
    assert 'href="#filter-min"' in bad.text and 'href="#filter-from"' in bad.text


def test_keyset_pages_have_no_duplicates_or_gaps(agent: TestClient, world: World) -> None:
    seen: list[str] = []
    params: dict[str, str] = {"q": world.history_name}
    pages = 0
    while True:
        response = agent.get("/staff/search", params=params)
        assert response.status_code == 200
        page = [tx for tx in _ordered_txs(response.text) if tx in set(world.history_txs)]
        assert len(page) <= 50
        seen += page
        pages += 1
        nxt = _next_link(response.text)
        if nxt is None:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items()}
        assert params["q"] == world.history_name  # the filters travel with the cursor
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(world.history_txs)
    assert set(seen) == set(world.history_txs)


def _ordered_txs(text: str) -> list[str]:
    return [part.split('"')[0] for part in text.split("/staff/payments/")[1:]]


def _next_link(text: str) -> str | None:
    marker = 'rel="next"'
    if marker not in text:
        return None
    anchor = text[: text.index(marker)]
    return anchor[anchor.rindex('href="') + 6 :].split('"')[0].replace("&amp;", "&")


def test_a_bad_cursor_starts_again(agent: TestClient, world: World) -> None:
    response = agent.get("/staff/search", params={"q": world.history_name, "after": "!!nope"})
    assert response.status_code == 200


# -- CSV -------------------------------------------------------------------------------


def test_csv_streams_every_row_in_batches(
    agent: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_views, "CSV_BATCH", 7)
    response = agent.get("/staff/search.csv", params={"q": world.history_name})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(search_views.CSV_HEADER)
    txs = [row[0] for row in rows[1:]]
    assert len(txs) == len(set(txs)) == 123 > 7 * 2
    assert set(txs) == set(world.history_txs)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["currency"] == "CAD" and first["customer_name"] == world.history_name


def test_csv_times_are_in_the_organisations_zone_and_say_which(
    console: Console, world: World
) -> None:
    toronto = dataclasses.replace(
        console.runtime, settings=console.runtime.settings.with_(timezone="America/Toronto")
    )
    client = TestClient(asgi(create_app(toronto)), base_url=BASE_URL, follow_redirects=False)
    sign_in(client, console.user(["agent"]))
    response = client.get("/staff/search.csv", params={"q": world.history_name})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and {row["time_zone"] for row in rows} == {"America/Toronto"}
    for row in rows:
        shown = dt.datetime.fromisoformat(row["created_at"])
        assert shown.utcoffset() in {dt.timedelta(hours=-5), dt.timedelta(hours=-4)}


def test_csv_with_filters(agent: TestClient, world: World) -> None:
    response = agent.get(
        "/staff/search.csv", params={"q": world.history_name, "channel": "counter"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 61 and {r["channel"] for r in rows} == {"counter"}


def test_csv_takes_every_customer_named_not_a_screenful(
    console: Console, agent: TestClient
) -> None:
    """The screen lists the first 50 customers a name matches; the export has the
    payments of all of them."""
    tag = secrets.token_hex(3)
    with transaction(console.factory) as db:
        dept = factories.department(db, name="Water")
        fee = factories.fee_type(db, dept, gl="4100-110")
        txs = set()
        for n in range(search.CUSTOMER_LIMIT + 5):
            person = factories.customer(db, name=f"Namesake{tag} {n}")
            account = factories.account(db, person, dept)
            invoice = factories.invoice(db, account, fee, 10_000)
            txs.add(add_payment(db, person, account, invoice, 500 + n, NOW).transaction_id)
    screen = agent.get("/staff/search", params={"q": f"namesake{tag}"}).text
    assert "Only the first 50 customers are shown" in screen
    rows = list(
        csv.DictReader(
            io.StringIO(agent.get("/staff/search.csv", params={"q": f"namesake{tag}"}).text)
        )
    )
    assert {row["transaction_id"] for row in rows} == txs


# -- who may search ------------------------------------------------------------------


def test_a_department_limited_agent_sees_only_their_departments_payments(
    console: Console, world: World
) -> None:
    client, _ = signed_in(console, ["agent"], departments={"agent": world.tax})
    text = client.get("/staff/search", params={"q": "emilie"}).text
    assert set(world.card_txs[:2]) <= _txs(text)
    assert world.card_txs[2] not in text  # water only


def test_a_department_limited_agents_csv_names_only_the_customers_they_may_find(
    console: Console, world: World, agent: TestClient
) -> None:
    """Two customers share a name: one holds a Tax account, the other a Water one only,
    and paid their Water bill and someone's Tax bill at once. To an agent limited to Tax,
    the second is a stranger, in the export as on the screen: their payment touches Tax,
    but the name does not find it."""
    tag = secrets.token_hex(3)
    with transaction(console.factory) as db:
        tax, water = db.get(Department, world.tax), db.get(Department, world.water)
        assert tax is not None and water is not None
        inside = factories.customer(db, name=f"Sharedname{tag} Inside")
        outside = factories.customer(db, name=f"Sharedname{tag} Outside")
        tax_account = factories.account(db, inside, tax)
        water_account = factories.account(db, outside, water)
        tax_bill = factories.invoice(db, tax_account, factories.fee_type(db, tax), 9_000)
        water_bill = factories.invoice(db, water_account, factories.fee_type(db, water), 900)
        own = add_payment(db, inside, tax_account, tax_bill, 4_000, NOW).transaction_id
        both = add_payment(db, outside, water_account, water_bill, 900, NOW)
        db.add(
            Allocation(
                payment_id=both.id,
                invoice_id=tax_bill.id,
                account_id=tax_account.id,
                fee_type_id=tax_bill.fee_type_id,
                department_id=tax.id,
                gl_account="4000-100",
                amount=5_000,
            )
        )
        both.amount += 5_000
        strangers, stranger = both.transaction_id, outside.id
    client, _ = signed_in(console, ["agent"], departments={"agent": world.tax})

    def exported(who: TestClient) -> set[str]:
        response = who.get("/staff/search.csv", params={"q": f"sharedname{tag}"})
        assert response.status_code == 200
        return {row["transaction_id"] for row in csv.DictReader(io.StringIO(response.text))}

    assert exported(agent) == {own, strangers}
    assert exported(client) == {own}
    screen = client.get("/staff/search", params={"q": f"sharedname{tag}"}).text
    assert _txs(screen) == {own}
    assert f"/staff/customers/{stranger}" not in screen


@dataclass
class WaterOnly:
    customer_id: int
    customer_number: str
    email: str
    phone: str
    account_number: str
    invoice_number: str
    transaction_id: str
    receipt_number: str


@pytest.fixture(scope="module")
def water_only(console: Console, world: World) -> WaterOnly:
    """A customer with an account in Water only, and a paid bill there."""
    tag = secrets.token_hex(3)
    db = console.factory()
    try:
        water = db.get(Department, world.water)
        assert water is not None
        customer = factories.customer(
            db, name=f"Wanda Wateronly {tag}", email=f"wanda.{tag}@example.org"
        )
        customer.phone = f"705 555 {secrets.randbelow(10_000):04d}"
        account = factories.account(db, customer, water)
        bill = factories.invoice(db, account, factories.fee_type(db, water), 4_200)
        found = WaterOnly(
            customer.id, customer.customer_number, customer.email or "", customer.phone,
            account.account_number, bill.invoice_number, "", "",
        )  # fmt: skip
        db.commit()
        outcome = factories.paid_in_cash(db, bill, Actor(ActorType.STAFF, "cashier-test"))
        assert outcome.receipt is not None
        found.transaction_id = outcome.payment.transaction_id
        found.receipt_number = outcome.receipt.receipt_number
    finally:
        db.close()
    return found


def test_a_department_limited_agent_does_not_find_other_departments_customers(
    console: Console, world: World, water_only: WaterOnly, agent: TestClient
) -> None:
    client, _ = signed_in(console, ["agent"], departments={"agent": world.tax})
    for typed in ("wanda wateronly", water_only.email, water_only.phone):
        text = client.get("/staff/search", params={"q": typed}).text
        assert f"/staff/customers/{water_only.customer_id}" not in text, typed
        assert "No customers match." in text, typed
        everyone = agent.get("/staff/search", params={"q": typed}).text
        assert f'/staff/customers/{water_only.customer_id}"' in everyone, typed
    text = client.get("/staff/search", params={"q": "wanda wateronly"}).text
    assert water_only.email not in text and water_only.phone not in text
    # Émilie holds a Tax account among others: found, with the one account shown to them.
    text = client.get("/staff/search", params={"q": "emilie"}).text
    assert f'/staff/customers/{world.customer_id}"' in text


def test_another_departments_identifier_answers_like_an_unknown_one(
    console: Console, world: World, water_only: WaterOnly, agent: TestClient
) -> None:
    """A redirect (then a 404) would confirm the record exists: give the 'no results' page."""
    client, _ = signed_in(console, ["agent"], departments={"agent": world.tax})
    unknown = client.get("/staff/search", params={"q": "ACC-99999-FFFF"})
    assert unknown.status_code == 200
    for typed in (
        water_only.customer_number,
        water_only.account_number,
        water_only.invoice_number,
        water_only.transaction_id,
        water_only.receipt_number,
        world.accounts["Water"],
    ):
        response = client.get("/staff/search", params={"q": typed})
        assert response.status_code == 200, typed
        assert "No customers match." in response.text and "No payments match." in response.text
        assert agent.get("/staff/search", params={"q": typed}).status_code == 303, typed
    # Their own department's records still jump.
    for typed in (world.accounts["Tax"], world.customer_number, world.cash_tx):
        assert client.get("/staff/search", params={"q": typed}).status_code == 303, typed


def test_signed_out_goes_to_sign_in(console: Console) -> None:
    response = console.client().get("/staff/search", params={"q": "x"})
    assert response.status_code == 303 and "/staff/login" in response.headers["location"]


def test_no_payments_view_means_no_csv(console: Console, world: World) -> None:
    with transaction(console.factory) as db:
        exists = db.scalar(select(Payment.id).where(Payment.transaction_id == world.cash_tx))
    assert exists
    client, _ = signed_in(console, ["agent"], departments={"agent": world.parks})
    # Limited to Parks: holds payments:view there, so the export is allowed but empty of others.
    rows = list(
        csv.reader(io.StringIO(client.get("/staff/search.csv", params={"q": "emilie"}).text))
    )
    assert len(rows) == 1
