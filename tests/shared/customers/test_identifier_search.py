"""Identifier look-up without HTTP: numbers read out loosely or without their dashes,
records outside someone's departments, and the look-ups on both databases."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from shared.customers import identifier_search
from shared.customers.identifier_search import Jump
from shared.customers.visibility import Visible
from shared.db import transaction
from shared.models import Account, Customer, Invoice, Receipt
from tests import factories
from tests.shared.customers.test_search import make_allocation, make_customer, make_payment


def numbered(
    db: Session, customer_number: str, name: str, account_number: str, invoice_number: str
) -> tuple[Customer, Account, Invoice]:
    """A customer with one account and one bill, each with the number given."""
    customer = make_customer(db, customer_number, name)
    dept = factories.department(db)
    account = factories.account(db, customer, dept)
    account.account_number = account_number
    invoice = factories.invoice(db, account, factories.fee_type(db, dept), 100)
    invoice.invoice_number = invoice_number
    return customer, account, invoice


def test_clean_identifier() -> None:
    assert identifier_search.clean_identifier(" c 000123 ") == "C-000123"
    assert identifier_search.clean_identifier("tax–100011") == "TAX-100011"
    assert identifier_search.clean_identifier("b/2026/000001") == "B-2026-000001"


def test_identify_on_the_database(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        emilie, account, invoice = numbered(
            db, "C-000123", "Émilie Núñez", "TAX-100011", "B-2026-000001"
        )
    with factory() as db:
        assert identifier_search.identify(db, "c-000123") == Jump("customer", customer_id=emilie.id)
        jump = identifier_search.identify(db, "tax 100011")
        assert jump is not None and jump.anchor == f"account-{account.id}"
        jump = identifier_search.identify(db, "b-2026-000001")
        assert jump is not None and jump.anchor == f"invoice-{invoice.id}"
        for typed in ("TAX-999", "emilie", "Jean Roy", "TX-0000-0000-0000"):
            assert identifier_search.identify(db, typed) is None, typed
        # PostgreSQL refuses NUL in a string: the look-up never sends it one.
        for typed in ("C-000123\x00", "TAX-100011\x00"):
            assert identifier_search.identify(db, typed) is None, typed


def test_identifiers_typed_without_their_dashes(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        customer, account, invoice = numbered(
            db, "C-000500", "Sam Squash", "TAX-100051", "B-2026-000051"
        )
        dept = account.department
        payment = make_payment(db, customer)
        db.add(
            Receipt(receipt_number="R-2026-000052", year=2026, sequence=52, payment_id=payment.id)
        )
        # Squashed, these two read the same: AB2026000061.
        other = factories.account(db, customer, dept)
        other.account_number = "AB-2026000061"
        clash = factories.invoice(db, account, factories.fee_type(db, dept), 100)
        clash.invoice_number = "AB-2026-000061"
    at_customer = Jump("customer", customer_id=customer.id)
    with factory() as db:
        for typed in ("C000500", "c000500", "C-000500", "C 000500"):
            assert identifier_search.identify(db, typed) == at_customer, typed
        for typed in ("TAX100051", "tax100051"):
            assert identifier_search.identify(db, typed) == Jump(
                "customer", customer_id=customer.id, anchor=f"account-{account.id}"
            ), typed
        for typed in ("B2026000051", "b2026000051", "B2026-000051", "B-2026000051"):
            assert identifier_search.identify(db, typed) == Jump(
                "customer", customer_id=customer.id, anchor=f"invoice-{invoice.id}"
            ), typed
        for typed in ("R2026000052", "r2026000052", "R-2026000052"):
            assert identifier_search.identify(db, typed) == Jump(
                "payment", transaction_id=payment.transaction_id
            ), typed
        # Two records a squashed number can stand for: no guess, the search lists instead.
        assert identifier_search.identify(db, "AB2026000061") is None
        # Typed with its dashes: exact.
        assert identifier_search.identify(db, "AB-2026-000061") is not None
        assert identifier_search.identify(db, "C000999") is None


def test_a_number_outside_the_departments_is_unknown(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as db:
        tax, water = factories.department(db, name="Tax"), factories.department(db, name="Water")
        tax_fee, water_fee = factories.fee_type(db, tax), factories.fee_type(db, water)
        factories.account(db, make_customer(db, "C-000701", "Dora Inside"), tax)
        outside = make_customer(db, "C-000702", "Dora Outside")
        water_account = factories.account(db, outside, water)
        water_bill = factories.invoice(db, water_account, water_fee, 100)
        # Dora Payer paid a Tax bill (a household's) but holds no Tax account: to a Tax
        # agent she is unknown, as on her customer page (a 404); the payment is not.
        payer = make_customer(db, "C-000703", "Dora Payer")
        factories.account(db, payer, water)
        household = factories.account(db, make_customer(db, "C-000704", "Hal Household"), tax)
        tax_bill = factories.invoice(db, household, tax_fee, 100)
        water_payment = make_payment(db, outside)
        tax_payment = make_payment(db, payer)
        db.add_all(
            [
                make_allocation(water_payment, water_bill),
                make_allocation(tax_payment, tax_bill),
                Receipt(receipt_number="R-2026-000071", year=2026, sequence=71,
                        payment_id=water_payment.id),
            ]
        )  # fmt: skip
    tax_only = Visible(customers=frozenset({tax.id}), payments=frozenset({tax.id}))
    with factory() as db:
        hidden = (
            "C-000702", "C-000703", water_account.account_number, water_bill.invoice_number,
            water_payment.transaction_id, "R-2026-000071",
        )  # fmt: skip
        for typed in hidden:
            assert identifier_search.identify(db, typed, tax_only) is None, typed
            assert identifier_search.identify(db, typed) is not None, typed
        for typed in ("C-000701", "C-000704", household.account_number, tax_payment.transaction_id):
            assert identifier_search.identify(db, typed, tax_only) is not None, typed
