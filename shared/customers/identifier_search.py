"""Recognise an identifier someone reads out and find the one record it names.

`identify` turns whatever was typed (a customer, account, invoice, receipt number or a
transaction ID, loosely typed, with or without its dashes) into the record to open,
with one unique-index look-up per candidate table. A record outside the departments
someone may see answers exactly like one that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.customers.visibility import (
    EVERYTHING,
    Visible,
    customers_within,
    payments_within,
    within,
)
from shared.identifiers import LookupInputError, normalize_reference
from shared.models import Account, Customer, Invoice, Payment, Receipt
from shared.search_terms import has_control_characters


@dataclass(frozen=True, slots=True)
class Jump:
    """The one record an identifier names: a customer (maybe one of its accounts) or a payment."""

    kind: Literal["customer", "payment"]
    customer_id: int | None = None
    transaction_id: str | None = None
    anchor: str | None = None


_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_/.]+")
_IDENTIFIER = re.compile(r"[A-Z]{1,4}-[0-9A-Z]+(?:-[0-9A-Z]+)*")
_INVOICE_SHAPE = re.compile(r"[A-Z]{1,4}-\d{4}-\d+")
# A number read aloud without its dashes: letters, then digits (C000123, TAX100001).
_SQUASHED = re.compile(r"([A-Z]{1,4})([0-9]+)")
# A year and a serial of 6 digits or more, as in B-2026-000001 and R-2026-000002.
_DATED_DIGITS = 10


def clean_identifier(text: str) -> str:
    """`c 000123` -> `C-000123`: upper case, runs of spaces and dashes made one dash."""
    return _SEPARATORS.sub("-", text.strip().upper()).strip("-")


def _customer(db: Session, number: str, visible: Visible) -> Jump | None:
    found = db.scalar(
        select(Customer.id).where(Customer.customer_number == number, *customers_within(visible))
    )
    return Jump("customer", customer_id=found) if found is not None else None


def _account(db: Session, number: str, visible: Visible) -> Jump | None:
    row = db.execute(
        select(Account.id, Account.customer_id).where(
            Account.account_number == number, *within(Account.department_id, visible.customers)
        )
    ).first()
    return (
        Jump("customer", customer_id=row.customer_id, anchor=f"account-{row.id}") if row else None
    )


def _invoice(db: Session, number: str, visible: Visible) -> Jump | None:
    row = db.execute(
        select(Invoice.id, Account.customer_id)
        .join(Account, Invoice.account_id == Account.id)
        .where(Invoice.invoice_number == number, *within(Account.department_id, visible.customers))
    ).first()
    return (
        Jump("customer", customer_id=row.customer_id, anchor=f"invoice-{row.id}") if row else None
    )


def _payment(db: Session, transaction_id: str, visible: Visible) -> Jump | None:
    found = db.scalar(
        select(Payment.transaction_id).where(
            Payment.transaction_id == transaction_id, *payments_within(visible)
        )
    )
    return Jump("payment", transaction_id=found) if found is not None else None


def _receipt(db: Session, number: str, visible: Visible) -> Jump | None:
    found = db.scalar(
        select(Payment.transaction_id)
        .join(Receipt, Receipt.payment_id == Payment.id)
        .where(Receipt.receipt_number == number, *payments_within(visible))
    )
    return Jump("payment", transaction_id=found) if found is not None else None


def _dashed_readings(cleaned: str) -> list[str]:
    """What a number typed without (some of) its dashes can stand for: `C000123` ->
    `C-000123`; `B2026000001` -> `B-2026000001` and `B-2026-000001`."""
    match = _SQUASHED.fullmatch(cleaned.replace("-", ""))
    if match is None:
        return []
    letters, digits = match.groups()
    readings = [f"{letters}-{digits}"]
    if len(digits) >= _DATED_DIGITS:
        readings.append(f"{letters}-{digits[:4]}-{digits[4:]}")
    return [reading for reading in readings if reading != cleaned]


def identify(db: Session, text: str, visible: Visible = EVERYTHING) -> Jump | None:
    """The record `text` names exactly, if it has the shape of an identifier, exists and
    is `visible` (else None, whichever it is: the answer must not tell them apart).

    Transaction IDs and receipt numbers are read loosely (case, spaces or dashes, and
    O/I/L for 0/1 in transaction IDs). Other shapes are tried against each kind of
    number, the likeliest first, one unique-index look-up each. A number typed without
    its dashes is tried in each dashed form it can stand for, and names a record only
    when they agree on one.
    """
    cleaned = clean_identifier(text)
    if not cleaned or len(cleaned) > 64 or has_control_characters(cleaned):
        return None
    if (jump := _identify_as_typed(db, cleaned, visible)) is not None:
        return jump
    found = {
        jump
        for reading in _dashed_readings(cleaned)
        if (jump := _identify_as_typed(db, reading, visible)) is not None
    }
    return found.pop() if len(found) == 1 else None


def _identify_as_typed(db: Session, cleaned: str, visible: Visible) -> Jump | None:
    try:
        reference = normalize_reference(cleaned)
    except LookupInputError:
        reference = None
    if reference is not None:
        jump = (_receipt if reference.startswith("R-") else _payment)(db, reference, visible)
        if jump is not None:
            return jump
    # Every number Paydesk issues or imports holds a digit: `Jean Roy` (JEAN-ROY) is a
    # name to search, not five look-ups.
    if not _IDENTIFIER.fullmatch(cleaned) or not any(c.isdigit() for c in cleaned):
        return None
    prefix = cleaned.split("-", 1)[0]
    order = [_account, _customer, _invoice, _payment, _receipt]
    if prefix in {"C", "S"}:
        order = [_customer, _account, _invoice, _payment, _receipt]
    elif prefix in {"B", "SB", "INV"} or _INVOICE_SHAPE.fullmatch(cleaned):
        order = [_invoice, _receipt, _account, _customer, _payment]
    elif prefix.startswith("T"):
        order = [_payment, _account, _customer, _invoice, _receipt]
    for look_up in order:
        if (jump := look_up(db, cleaned, visible)) is not None:
            return jump
    return None
