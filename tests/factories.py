"""Test data, built through the real models. Each helper takes the session."""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import uuid

from sqlalchemy.orm import Session

from shared.actors import Actor
from shared.models import (
    Account,
    AccountStatus,
    Customer,
    Department,
    FeeType,
    Invoice,
    Tender,
)
from shared.payments.taking import Item, PaymentOutcome, PaymentRequest, take_payment
from tests.shared.no_gateway import NoGateway

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter):05d}-{secrets.token_hex(2).upper()}"


def department(db: Session, code: str | None = None, name: str = "Tax") -> Department:
    dept = Department(code=code or unique("dept"), name=name)
    db.add(dept)
    db.flush()
    return dept


def fee_type(
    db: Session, dept: Department, *, allows_partial: bool = True, gl: str = "4000-100"
) -> FeeType:
    fee = FeeType(
        department_id=dept.id,
        code=unique("fee"),
        name=f"{dept.name} fee",
        gl_account=gl,
        allows_partial=allows_partial,
    )
    db.add(fee)
    db.flush()
    return fee


def customer(db: Session, name: str = "Jane Smith", email: str | None = None) -> Customer:
    c = Customer(customer_number=unique("C"), name=name, email=email, postal_code="K1A 0B1")
    db.add(c)
    db.flush()
    return c


def account(
    db: Session,
    cust: Customer,
    dept: Department,
    status: AccountStatus = AccountStatus.ACTIVE,
    access_code: str = "4821",
) -> Account:
    acc = Account(
        account_number=unique("ACC"),
        department_id=dept.id,
        customer_id=cust.id,
        status=status,
        access_code=access_code,
    )
    db.add(acc)
    db.flush()
    return acc


def invoice(db: Session, acc: Account, fee: FeeType, amount_due: int) -> Invoice:
    inv = Invoice(
        invoice_number=unique("INV"),
        account_id=acc.id,
        fee_type_id=fee.id,
        description=f"{fee.name} {dt.date.today().year}",
        amount_due=amount_due,
        due_date=dt.date.today() + dt.timedelta(days=30),
    )
    db.add(inv)
    acc.balance += amount_due
    db.flush()
    return inv


def bills(
    db: Session, amounts: list[int], *, status: AccountStatus = AccountStatus.ACTIVE
) -> list[Invoice]:
    """One customer with one account per amount, each in its own department.

    Committed: the payment service commits and rolls back the session it is given."""
    cust = customer(db)
    out = []
    for amount in amounts:
        dept = department(db)
        out.append(invoice(db, account(db, cust, dept, status), fee_type(db, dept), amount))
    db.commit()
    return out


def paid_in_cash(db: Session, bill: Invoice, actor: Actor) -> PaymentOutcome:
    """`bill` paid in full in cash at the counter, through the real payment service."""
    request = PaymentRequest(
        items=(Item(bill.invoice_number),),
        tender=Tender.CASH,
        channel="counter",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        cash_tendered=bill.amount_due,
    )
    return take_payment(db, NoGateway(), request, actor)
