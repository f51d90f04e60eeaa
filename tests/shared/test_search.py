"""The search service without HTTP: identifier shapes, folding, card + amount, cursors,
and the queries on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import search
from shared.db import make_engine, make_sessionmaker, transaction
from shared.models import Channel, Customer, CustomerSearchTerm, Payment, PaymentStatus, Tender
from shared.search import Cursor, Filters, PaymentSearch
from shared.search_terms import customer_terms
from tests import factories
from tests.support.databases import create_database, drop_schema


def test_clean_identifier() -> None:
    assert search.clean_identifier(" c 000123 ") == "C-000123"
    assert search.clean_identifier("tax–100011") == "TAX-100011"
    assert search.clean_identifier("b/2026/000001") == "B-2026-000001"


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


def test_an_empty_search_wants_nothing() -> None:
    assert not PaymentSearch().wanted
    assert PaymentSearch(filters=Filters(min_amount=1)).wanted
    assert PaymentSearch(text=" emilie ").wanted


@pytest.fixture(params=["sqlite", "postgres"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url, schema = create_database(request.param, tmp_path)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()
    drop_schema(schema)


def test_identify_and_find_on_the_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        emilie = Customer(
            customer_number="C-000123", name="Émilie Núñez", email="EN@example.org",
            phone="+1 (613) 555-0199",
        )  # fmt: skip
        db.add(emilie)
        db.flush()
        dept = factories.department(db)
        account = factories.account(db, emilie, dept)
        account.account_number = "TAX-100011"
        invoice = factories.invoice(db, account, factories.fee_type(db, dept), 100)
        invoice.invoice_number = "B-2026-000001"
    with factory() as db:
        assert search.identify(db, "c-000123") == search.Jump("customer", customer_id=emilie.id)
        jump = search.identify(db, "tax 100011")
        assert jump is not None and jump.anchor == f"account-{account.id}"
        jump = search.identify(db, "b-2026-000001")
        assert jump is not None and jump.anchor == f"invoice-{invoice.id}"
        assert search.identify(db, "TAX-999") is None
        assert search.identify(db, "emilie") is None
        assert search.identify(db, "Jean Roy") is None
        assert search.identify(db, "TX-0000-0000-0000") is None
        found = (
            "emilie", "NUNEZ", "núñ", "EMIL", "nu emi", "en@example", "example.org",
            "555-0199", "6135550199", "613 555 01", "(613) 555-0199", "0199",
        )  # fmt: skip
        for typed in found:
            assert [h.customer.id for h in search.find_customers(db, typed)] == [emilie.id], typed
        # Words match the start of a term, every word must match.
        for typed in ("zzz", "   ", "milie", "emilie zed", "%", "5501"):
            assert search.find_customers(db, typed) == [], typed


def _customer(db: Session, number: str, name: str, **contact: str) -> Customer:
    customer = Customer(customer_number=number, name=name, **contact)
    db.add(customer)
    db.flush()
    return customer


def test_search_terms_follow_the_customer(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer = _customer(db, "C-000200", "Zoé Lachance", email="zoe@example.org")
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
        people = [_customer(db, f"C-3{i:05d}", f"Common Person {i}") for i in range(8)]
    with factory() as db:
        match = search.match_customers(db, "person 7 common")
        assert match == search.CustomerMatch((people[7].id,), more=False)
        # Both words common: only the first terms of one are read, and the result says so.
        match = search.match_customers(db, "common pers", limit=50)
        assert match.more and 0 < len(match.ids) <= 5
        assert search.match_customers(db, "common", limit=3).more


def _payment(db: Session, customer: Customer) -> Payment:
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
        customer = _customer(db, "C-000300", "Ünal Özdemir")
        other = _customer(db, "C-000301", "Unaldo Other")
        paid = _payment(db, customer)
        _payment(db, other)
    with factory() as db:
        for typed in ("OZD", "özdemir ün", "ünal öz"):
            page = search.payment_page(db, PaymentSearch(text=typed))
            assert [row.payment.id for row in page.rows] == [paid.id], typed
        assert search.payment_page(db, PaymentSearch(text="nobody")).rows == []
