"""The search service without HTTP: identifier shapes, folding, card + amount, cursors,
and the queries on both databases."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import identifier_search, search
from shared.db import make_engine, make_sessionmaker, transaction
from shared.models import (
    Allocation,
    Channel,
    Customer,
    CustomerSearchTerm,
    Invoice,
    Payment,
    PaymentStatus,
    Receipt,
    Tender,
)
from shared.search import Cursor, Filters, PaymentSearch
from shared.search_terms import customer_terms
from shared.visibility import Visible
from tests import factories
from tests.support.databases import create_database, drop_schema


def test_clean_identifier() -> None:
    assert identifier_search.clean_identifier(" c 000123 ") == "C-000123"
    assert identifier_search.clean_identifier("tax–100011") == "TAX-100011"
    assert identifier_search.clean_identifier("b/2026/000001") == "B-2026-000001"


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
        assert identifier_search.identify(db, "c-000123") == identifier_search.Jump(
            "customer", customer_id=emilie.id
        )
        jump = identifier_search.identify(db, "tax 100011")
        assert jump is not None and jump.anchor == f"account-{account.id}"
        jump = identifier_search.identify(db, "b-2026-000001")
        assert jump is not None and jump.anchor == f"invoice-{invoice.id}"
        assert identifier_search.identify(db, "TAX-999") is None
        assert identifier_search.identify(db, "emilie") is None
        assert identifier_search.identify(db, "Jean Roy") is None
        assert identifier_search.identify(db, "TX-0000-0000-0000") is None
        found = (
            "emilie", "NUNEZ", "núñ", "EMIL", "nu emi", "en@example", "example.org",
            "555-0199", "6135550199", "613 555 01", "(613) 555-0199", "0199",
        )  # fmt: skip
        for typed in found:
            assert [h.customer.id for h in search.find_customers(db, typed)] == [emilie.id], typed
        # Words match the start of a term, every word must match.
        for typed in ("zzz", "   ", "milie", "emilie zed", "%", "5501"):
            assert search.find_customers(db, typed) == [], typed


def test_identifiers_typed_without_their_dashes(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer = _customer(db, "C-000500", "Sam Squash")
        dept = factories.department(db)
        account = factories.account(db, customer, dept)
        account.account_number = "TAX-100051"
        invoice = factories.invoice(db, account, factories.fee_type(db, dept), 100)
        invoice.invoice_number = "B-2026-000051"
        payment = _payment(db, customer)
        db.add(
            Receipt(receipt_number="R-2026-000052", year=2026, sequence=52, payment_id=payment.id)
        )
        # Squashed, these two read the same: AB2026000061.
        other = factories.account(db, customer, dept)
        other.account_number = "AB-2026000061"
        clash = factories.invoice(db, account, factories.fee_type(db, dept), 100)
        clash.invoice_number = "AB-2026-000061"
    at_customer = identifier_search.Jump("customer", customer_id=customer.id)
    with factory() as db:
        for typed in ("C000500", "c000500", "C-000500", "C 000500"):
            assert identifier_search.identify(db, typed) == at_customer, typed
        for typed in ("TAX100051", "tax100051"):
            assert identifier_search.identify(db, typed) == identifier_search.Jump(
                "customer", customer_id=customer.id, anchor=f"account-{account.id}"
            ), typed
        for typed in ("B2026000051", "b2026000051", "B2026-000051", "B-2026000051"):
            assert identifier_search.identify(db, typed) == identifier_search.Jump(
                "customer", customer_id=customer.id, anchor=f"invoice-{invoice.id}"
            ), typed
        for typed in ("R2026000052", "r2026000052", "R-2026000052"):
            assert identifier_search.identify(db, typed) == identifier_search.Jump(
                "payment", transaction_id=payment.transaction_id
            ), typed
        # Two records a squashed number can stand for: no guess, the search lists instead.
        assert identifier_search.identify(db, "AB2026000061") is None
        assert (
            identifier_search.identify(db, "AB-2026-000061") is not None
        )  # typed with dashes: exact
        assert identifier_search.identify(db, "C000999") is None


def test_out_of_range_input_is_no_database_error(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer = _customer(db, "C-000600", "Olga Overflow", email="olga@example.org")
        paid = _payment(db, customer)
    with factory() as db:
        # The first and last days of the calendar: no bound past either end.
        edges = Filters(date_from=dt.date.min, date_to=dt.date.max)
        for timezone in ("Asia/Tokyo", "America/Toronto"):
            page = search.payment_page(db, PaymentSearch(filters=edges, timezone=timezone))
            assert paid.id in [row.payment.id for row in page.rows], timezone
        # PostgreSQL refuses NUL in a string: the search never sends it one.
        for typed in ("olga@example.org\x00", "C-000600\x00", "olga\x00"):
            assert identifier_search.identify(db, typed) is None, typed
            search.payment_page(db, PaymentSearch(text=typed))
        assert [h.customer.id for h in search.find_customers(db, "olga\x00")] == [customer.id]


def test_a_department_limited_search_sees_only_its_departments(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as db:
        tax, water = factories.department(db, name="Tax"), factories.department(db, name="Water")
        tax_fee, water_fee = factories.fee_type(db, tax), factories.fee_type(db, water)
        inside = _customer(db, "C-000701", "Dora Inside")
        factories.account(db, inside, tax)
        factories.account(db, inside, water)
        outside = _customer(db, "C-000702", "Dora Outside", email="dora@example.org")
        water_account = factories.account(db, outside, water)
        water_bill = factories.invoice(db, water_account, water_fee, 100)
        # Dora Payer paid a Tax bill (a household's) but holds no Tax account: to a Tax
        # agent she is unknown, as on her customer page (a 404); the payment is not.
        payer = _customer(db, "C-000703", "Dora Payer")
        factories.account(db, payer, water)
        household = factories.account(db, _customer(db, "C-000704", "Hal Household"), tax)
        tax_bill = factories.invoice(db, household, tax_fee, 100)
        water_payment = _payment(db, outside)
        tax_payment = _payment(db, payer)
        db.add_all(
            [
                _allocation(water_payment, water_bill),
                _allocation(tax_payment, tax_bill),
                Receipt(receipt_number="R-2026-000071", year=2026, sequence=71,
                        payment_id=water_payment.id),
            ]
        )  # fmt: skip
    tax_only = Visible(customers=frozenset({tax.id}), payments=frozenset({tax.id}))
    with factory() as db:
        found = search.find_customers(db, "dora", departments=tax_only.customers)
        assert [h.customer.id for h in found] == [inside.id]
        assert search.find_customers(db, "dora@example", departments=tax_only.customers) == []
        assert len(search.find_customers(db, "dora")) == 3
        # Counted: the accounts the asker may see.
        assert [h.accounts for h in found] == [1]
        assert [h.accounts for h in search.find_customers(db, "dora inside")] == [2]
        hidden = (
            "C-000702", "C-000703", water_account.account_number, water_bill.invoice_number,
            water_payment.transaction_id, "R-2026-000071",
        )  # fmt: skip
        for typed in hidden:
            assert identifier_search.identify(db, typed, tax_only) is None, typed
            assert identifier_search.identify(db, typed) is not None, typed
        for typed in ("C-000701", "C-000704", household.account_number, tax_payment.transaction_id):
            assert identifier_search.identify(db, typed, tax_only) is not None, typed


def _allocation(payment: Payment, invoice: Invoice) -> Allocation:
    return Allocation(
        payment_id=payment.id, invoice_id=invoice.id, account_id=invoice.account_id,
        fee_type_id=invoice.fee_type_id, department_id=invoice.account.department_id,
        gl_account="4000-100", amount=invoice.amount_due,
    )  # fmt: skip


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
