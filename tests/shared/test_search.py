"""The search service without HTTP: identifier shapes, folding, card + amount, cursors,
and the queries on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shared import search
from shared.db import make_engine, make_sessionmaker, transaction
from shared.models import Customer
from shared.search import Cursor, Filters, PaymentSearch
from tests import factories
from tests.support.databases import create_database, drop_schema


def test_clean_identifier() -> None:
    assert search.clean_identifier(" c 000123 ") == "C-000123"
    assert search.clean_identifier("tax–100011") == "TAX-100011"
    assert search.clean_identifier("b/2026/000001") == "B-2026-000001"


def test_fold_strips_accents_and_case() -> None:
    assert search.fold("Émilie Çağlar Núñez") == "emilie caglar nunez"
    assert search.fold(None) is None


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
        assert search.identify(db, "TX-0000-0000-0000") is None
        for typed in ("emilie", "NUNEZ", "núñ", "milie nu", "en@example", "555-0199", "6135550199"):
            assert [h.customer.id for h in search.find_customers(db, typed)] == [emilie.id], typed
        assert search.find_customers(db, "zzz") == []
        assert search.find_customers(db, "   ") == []
        # LIKE wildcards typed by someone are plain characters.
        assert search.find_customers(db, "%") == []
