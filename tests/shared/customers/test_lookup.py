"""Account look-up by a number on the bill and a second factor."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from shared.customers.lookup import find_account, normalise
from tests import factories


def test_normalise_ignores_case_and_spaces() -> None:
    assert normalise(" k1a 0b1\t") == "K1A0B1"


@pytest.fixture
def bill(db: Session) -> tuple[str, str]:
    cust = factories.customer(db)
    dept = factories.department(db)
    acc = factories.account(db, cust, dept, access_code="AB12")
    inv = factories.invoice(db, acc, factories.fee_type(db, dept), 1000)
    return acc.account_number, inv.invoice_number


def test_by_account_number_and_access_code(db: Session, bill: tuple[str, str]) -> None:
    found = find_account(db, bill[0], "ab12")
    assert found is not None and found.account_number == bill[0]


def test_by_invoice_number_and_postal_code(db: Session, bill: tuple[str, str]) -> None:
    found = find_account(db, bill[1].lower(), "k1a 0b1")
    assert found is not None and found.account_number == bill[0]


@pytest.mark.parametrize(
    ("number", "factor"),
    [("bill", "WRONG"), ("missing", "AB12"), ("bill", ""), ("bill", "   "), ("", "AB12")],
)
def test_no_match(db: Session, bill: tuple[str, str], number: str, factor: str) -> None:
    given = {"bill": bill[0], "missing": "ACC-NONE", "": ""}[number]
    assert find_account(db, given, factor) is None


def test_a_customer_without_postal_code_cannot_match_an_empty_one(db: Session) -> None:
    cust = factories.customer(db)
    cust.postal_code = None
    dept = factories.department(db)
    acc = factories.account(db, cust, dept)
    assert find_account(db, acc.account_number, "") is None
    assert find_account(db, acc.account_number, "4821") is not None
