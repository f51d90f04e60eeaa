"""The search service without HTTP: folding, card + amount, cursors, and the queries on
both databases (identifier look-up: test_identifier_search.py)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.customers import search
from shared.customers.search import Cursor, Filters, PaymentSearch
from shared.db import make_engine, make_sessionmaker, transaction
from shared.models import (
    Allocation,
    Channel,
    Customer,
    CustomerSearchTerm,
    Invoice,
    Payment,
    PaymentStatus,
    Tender,
)
from shared.search_terms import customer_terms
from tests import factories
from tests.support.databases import TEST_KEYS, create_database, drop_schema


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("4242 125.50", ("4242", 12550)),
        ("4242   125", ("4242", 12500)),
        ("4242 $1,250.00", ("4242", 125000)),
        ("4242", None),
        ("4242 abc", None),
        ("424 125.50", None),
        ("4242 0", None),
        # The amount first, as people also say it.
        ("399.00 4242", ("4242", 39900)),
        ("$1,250.00 4242", ("4242", 125000)),
        ("abc 4242", None),
    ],
)
def test_card_and_amount(typed: str, expected: tuple[str, int] | None) -> None:
    assert search.card_and_amount(typed, "CAD", "en") == expected


def test_card_and_amount_in_french() -> None:
    assert search.card_and_amount("4242 125,50", "CAD", "fr") == ("4242", 12550)


def test_cursor_round_trip_and_garbage() -> None:
    cursor = Cursor(dt.datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "!!", "bm9wZQ", "MS4y.x"):
        assert Cursor.decode(bad) is None


def _encoded(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_cursor_out_of_the_databases_range_is_refused() -> None:
    """A hand-made cursor must not reach the database with an id no BIGINT holds."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert Cursor.decode(_encoded(f"0.{search.BIGINT_MAX}")) == Cursor(epoch, search.BIGINT_MAX)
    too_big = f"0.{search.BIGINT_MAX + 1}"
    for bad in (too_big, "0.0", "0.-5", f"{10**20}.1", "\u0661.\u0662", " 1.2", "1_0.2"):
        assert Cursor.decode(_encoded(bad)) is None, bad


def test_card_and_amount_past_what_a_payment_can_hold_is_no_card_search() -> None:
    assert search.card_and_amount("4242 999999999999999999999", "CAD", "en") is None


def test_an_empty_search_wants_nothing() -> None:
    assert not PaymentSearch().wanted
    assert PaymentSearch(filters=Filters(min_amount=1)).wanted
    assert PaymentSearch(text=" emilie ").wanted


@pytest.fixture(params=["sqlite", "postgres"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url, schema = create_database(request.param, tmp_path)
    engine = make_engine(url)
    yield make_sessionmaker(engine, TEST_KEYS)
    engine.dispose()
    drop_schema(schema)


def test_find_customers_on_the_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        emilie = make_customer(
            db, "C-000123", "Émilie Núñez", email="EN@example.org", phone="+1 (613) 555-0199"
        )
    with factory() as db:
        found = (
            "emilie", "NUNEZ", "núñ", "EMIL", "nu emi", "en@example", "example.org",
            "555-0199", "6135550199", "613 555 01", "(613) 555-0199", "0199",
        )  # fmt: skip
        for typed in found:
            assert [h.customer.id for h in search.find_customers(db, typed)] == [emilie.id], typed
        # Words match the start of a term, every word must match.
        for typed in ("zzz", "   ", "milie", "emilie zed", "%", "5501"):
            assert search.find_customers(db, typed) == [], typed


def test_out_of_range_input_is_no_database_error(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer = make_customer(db, "C-000600", "Olga Overflow", email="olga@example.org")
        paid = make_payment(db, customer)
    with factory() as db:
        # The first and last days of the calendar: no bound past either end.
        edges = Filters(date_from=dt.date.min, date_to=dt.date.max)
        for timezone in ("Asia/Tokyo", "America/Toronto"):
            page = search.payment_page(db, PaymentSearch(filters=edges, timezone=timezone))
            assert paid.id in [row.payment.id for row in page.rows], timezone
        # PostgreSQL refuses NUL in a string: the search never sends it one.
        for typed in ("olga@example.org\x00", "C-000600\x00", "olga\x00"):
            search.payment_page(db, PaymentSearch(text=typed))
        assert [h.customer.id for h in search.find_customers(db, "olga\x00")] == [customer.id]


def test_a_department_limited_search_sees_only_its_departments(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as db:
        tax, water = factories.department(db, name="Tax"), factories.department(db, name="Water")
        tax_fee = factories.fee_type(db, tax)
        inside = make_customer(db, "C-000701", "Dora Inside")
        factories.account(db, inside, tax)
        factories.account(db, inside, water)
        outside = make_customer(db, "C-000702", "Dora Outside", email="dora@example.org")
        factories.account(db, outside, water)
        # Dora Payer paid a Tax bill (a household's) but holds no Tax account: to a Tax
        # agent she is unknown, as on her customer page (a 404).
        payer = make_customer(db, "C-000703", "Dora Payer")
        factories.account(db, payer, water)
        household = factories.account(db, make_customer(db, "C-000704", "Hal Household"), tax)
        tax_bill = factories.invoice(db, household, tax_fee, 100)
        db.add(make_allocation(make_payment(db, payer), tax_bill))
    tax_only = frozenset({tax.id})
    with factory() as db:
        found = search.find_customers(db, "dora", departments=tax_only)
        assert [h.customer.id for h in found] == [inside.id]
        assert search.find_customers(db, "dora@example", departments=tax_only) == []
        assert len(search.find_customers(db, "dora")) == 3
        # Counted: the accounts the asker may see.
        assert [h.accounts for h in found] == [1]
        assert [h.accounts for h in search.find_customers(db, "dora inside")] == [2]


def make_allocation(payment: Payment, invoice: Invoice) -> Allocation:
    return Allocation(
        payment_id=payment.id, invoice_id=invoice.id, account_id=invoice.account_id,
        fee_type_id=invoice.fee_type_id, department_id=invoice.account.department_id,
        gl_account="4000-100", amount=invoice.amount_due,
    )  # fmt: skip


def make_customer(db: Session, number: str, name: str, **contact: str) -> Customer:
    customer = Customer(customer_number=number, name=name, **contact)
    db.add(customer)
    db.flush()
    return customer


def test_search_terms_follow_the_customer(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer = make_customer(db, "C-000200", "Zoé Lachance", email="zoe@example.org")
    with transaction(factory) as db:
        assert [h.customer.id for h in search.find_customers(db, "zoe lach")] == [customer.id]
        changed = db.get(Customer, customer.id)
        assert changed is not None
        changed.name = "Zoé Bélanger"
        changed.phone = "613-555-0123"
    with factory() as db:
        assert search.find_customers(db, "lachance") == []
        for typed in ("belanger", "BÉLANGER zo", "555 0123", "zoe@"):
            assert [h.customer.id for h in search.find_customers(db, typed)] == [customer.id]
        terms = db.scalars(
            select(CustomerSearchTerm.term).where(CustomerSearchTerm.customer_id == customer.id)
        ).all()
        assert sorted(terms) == sorted(
            customer_terms("Zoé Bélanger", "zoe@example.org", "613-555-0123")
        )


def test_the_rarest_word_leads_and_a_common_one_is_cut(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "_COUNT_CAP", 3)
    monkeypatch.setattr(search, "_SCAN_LIMIT", 5)
    with transaction(factory) as db:
        people = [make_customer(db, f"C-3{i:05d}", f"Common Person {i}") for i in range(8)]
    with factory() as db:
        match = search.match_customers(db, "person 7 common")
        assert match == search.CustomerMatch((people[7].id,), more=False)
        # Both words common: only the first terms of one are read, and the result says so.
        match = search.match_customers(db, "common pers", limit=50)
        assert match.more and 0 < len(match.ids) <= 5
        assert search.match_customers(db, "common", limit=3).more


def make_payment(db: Session, customer: Customer) -> Payment:
    payment = Payment(
        transaction_id=f"TX-TEST-{customer.id}", idempotency_key=f"key-{customer.id}",
        customer_id=customer.id, channel=Channel.PORTAL, amount=100, currency="CAD",
        tender=Tender.CASH, status=PaymentStatus.POSTED,
    )  # fmt: skip
    db.add(payment)
    db.flush()
    return payment


def test_payments_of_customers_found_by_name(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer = make_customer(db, "C-000300", "Ünal Özdemir")
        other = make_customer(db, "C-000301", "Unaldo Other")
        paid = make_payment(db, customer)
        make_payment(db, other)
    with factory() as db:
        for typed in ("OZD", "özdemir ün", "ünal öz"):
            page = search.payment_page(db, PaymentSearch(text=typed))
            assert [row.payment.id for row in page.rows] == [paid.id], typed
        assert search.payment_page(db, PaymentSearch(text="nobody")).rows == []
