"""Receipts: gap-free numbers per year, what a receipt says, and its signature.

Numbers come from a per-year counter row bumped with `UPDATE … RETURNING` in
the transaction that issues the receipt: the row lock serialises issuers and a
rolled-back payment rolls its number back too, so there is never a gap.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from typing import cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Insert, Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.catalog_names import bill_description, name_in
from shared.config import Settings
from shared.db import attach, row_of, utcnow
from shared.identifiers import receipt_number
from shared.messaging import webhooks
from shared.models import (
    AccountCredit,
    Allocation,
    Correction,
    Department,
    FeeType,
    Invoice,
    Payment,
    Receipt,
    ReceiptDelivery,
    ReceiptSequence,
)
from shared.money import Money
from shared.receipts.document import ReceiptCorrection, ReceiptDocument, ReceiptLine

RECEIPTS = cast(Table, Receipt.__table__)
SEQUENCES = cast(Table, ReceiptSequence.__table__)
_INSERT_RECEIPT = insert(RECEIPTS).returning(RECEIPTS.c.id)


@functools.cache
def _bump_statement(dialect: str) -> Insert:
    # One statement: the first receipt of a year creates the row, later ones bump it.
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        upsert(SEQUENCES)
        .values(year=bindparam("receipt_year"), last_number=1)
        .on_conflict_do_update(
            index_elements=["year"],
            set_={"last_number": SEQUENCES.c.last_number + 1},
        )
        .returning(SEQUENCES.c.last_number)
    )


def _next_sequence(session: Session, year: int) -> int:
    connection = session.connection()
    statement = _bump_statement(connection.dialect.name)
    return int(connection.execute(statement, {"receipt_year": year}).scalar_one())


def issue(session: Session, payment: Payment, actor: Actor) -> Receipt:
    """Give a posted payment its receipt (one per payment, covering every allocation)."""
    now = utcnow()
    sequence = _next_sequence(session, now.year)
    receipt = Receipt(
        receipt_number=receipt_number(now.year, sequence),
        year=now.year,
        sequence=sequence,
        payment_id=payment.id,
        issued_at=now,
    )
    receipt.id = session.connection().execute(_INSERT_RECEIPT, row_of(receipt)).scalar_one()
    attach(session, receipt)
    audit.record(
        session,
        actor,
        audit.AuditAction.RECEIPT_ISSUED,
        "receipt",
        receipt.receipt_number,
        {"transaction_id": payment.transaction_id, "amount": payment.amount},
    )
    webhooks.emit(
        session,
        "receipt.issued",
        {
            "receipt_number": receipt.receipt_number,
            "transaction_id": payment.transaction_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "issued_at": now.isoformat(),
        },
    )
    return receipt


def record_delivery(
    session: Session, receipt: Receipt, channel: str, actor: Actor, destination: str | None = None
) -> ReceiptDelivery:
    """Log that a receipt was shown, printed, emailed or resent."""
    delivery = ReceiptDelivery(
        receipt_id=receipt.id, channel=channel, destination=destination, actor=str(actor)
    )
    session.add(delivery)
    audit.record(
        session,
        actor,
        audit.AuditAction.RECEIPT_DELIVERED,
        "receipt",
        receipt.receipt_number,
        {"channel": channel, "destination": destination},
    )
    return delivery


def for_payment(session: Session, payment: Payment) -> Receipt | None:
    return session.scalars(select(Receipt).where(Receipt.payment_id == payment.id)).one_or_none()


def by_number(session: Session, number: str) -> Receipt | None:
    return session.scalars(
        select(Receipt).where(Receipt.receipt_number == number.strip().upper())
    ).one_or_none()


def signature(secret: str, number: str, total_minor: int) -> str:
    """A short HMAC proving the receipt (number and total) was issued by us."""
    mac = hmac.new(secret.encode(), f"receipt:{number}:{total_minor}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:15]).decode()


def signature_ok(secret: str, number: str, total_minor: int, given: str) -> bool:
    """Whether `given` (from a link anyone can edit) is the receipt's signature.

    Compared as UTF-8 bytes: `compare_digest` refuses a str holding anything but ASCII, and
    a malformed signature must read as "cannot verify", never as an error page.
    """
    return hmac.compare_digest(signature(secret, number, total_minor).encode(), given.encode())


def verify_url(base_url: str, secret: str, number: str, total_minor: int) -> str:
    sig = signature(secret, number, total_minor)
    return f"{base_url.rstrip('/')}/verify/{quote(number)}?s={sig}"


def document(
    session: Session, receipt: Receipt, settings: Settings, locale: str
) -> ReceiptDocument:
    """Everything a renderer needs to show this receipt."""
    payment = receipt.payment
    rows = session.execute(
        select(Allocation, Invoice, FeeType, Department)
        .join(Invoice, Allocation.invoice_id == Invoice.id)
        .join(FeeType, Allocation.fee_type_id == FeeType.id)
        .join(Department, Allocation.department_id == Department.id)
        .where(Allocation.payment_id == payment.id)
        .order_by(Allocation.id)
    ).all()
    currency = payment.currency
    credit = session.scalar(
        select(func.sum(AccountCredit.amount)).where(AccountCredit.payment_id == payment.id)
    )
    corrections = session.scalars(
        select(Correction).where(Correction.payment_id == payment.id).order_by(Correction.id)
    )
    lines = tuple(
        ReceiptLine(
            department=name_in(dept, locale, settings.default_locale),
            fee_type=name_in(fee, locale, settings.default_locale),
            account_number=inv.account.account_number,
            invoice_number=inv.invoice_number,
            description=bill_description(inv, locale, settings.default_locale),
            gl_account=alloc.gl_account,
            amount=Money(alloc.amount, currency),
        )
        for alloc, inv, fee, dept in rows
    )
    return ReceiptDocument(
        org_name=settings.org_name,
        receipt_number=receipt.receipt_number,
        transaction_id=payment.transaction_id,
        issued_at=receipt.issued_at.astimezone(ZoneInfo(settings.timezone)),
        timezone=settings.timezone,
        payer_name=payment.customer.name if payment.customer else "",
        channel=str(payment.channel),
        tender=str(payment.tender),
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        cheque_number=payment.cheque_number,
        cash_tendered=None
        if payment.cash_tendered is None
        else Money(payment.cash_tendered, currency),
        change_due=None if payment.change_due is None else Money(payment.change_due, currency),
        lines=lines,
        total=Money(payment.amount, currency),
        status=str(payment.status),
        verify_url=verify_url(
            settings.base_url, settings.secret_key, receipt.receipt_number, payment.amount
        ),
        locale=locale,
        credit=Money(credit, currency) if credit else None,
        corrections=tuple(
            ReceiptCorrection(
                c.id,
                c.kind.value,
                c.created_at.astimezone(ZoneInfo(settings.timezone)),
                Money(c.amount, currency),
            )
            for c in corrections
        ),
    )
