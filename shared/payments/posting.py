"""Applying a payment: the gateway's answer, then the bills, the receipt and the email.

The bills and accounts are changed with one `UPDATE` each for all the
payment's allocations (a `CASE` on the row id gives each its amount): atomic
increments, so two payments for one bill can never lose an update.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    Update,
    bindparam,
    case,
    select,
    update,
)
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.gateway.protocol import PaymentGateway, Transaction, TransactionState
from shared.messaging import outbox, write_back
from shared.models import (
    Account,
    Allocation,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Receipt,
)
from shared.payments import credits, duplicates
from shared.payments.states import IN_DOUBT, advance, move
from shared.receipts import numbering as receipts
from shared.receipts.email import RECEIPT_EMAIL

INVOICES = cast(Table, Invoice.__table__)
ACCOUNTS = cast(Table, Account.__table__)
ALLOCATIONS = cast(Table, Allocation.__table__)

_SHARES = (
    select(ALLOCATIONS.c.invoice_id, ALLOCATIONS.c.account_id, ALLOCATIONS.c.amount)
    .where(ALLOCATIONS.c.payment_id == bindparam("payment_id"))
    .order_by(ALLOCATIONS.c.id)
)


@dataclass(frozen=True, slots=True)
class Share:
    """One allocation as posting sees it: `amount` off this bill, on this account."""

    invoice_id: int
    account_id: int
    amount: int


def shares_of(session: Session, payment: Payment) -> list[Share]:
    rows = session.connection().execute(_SHARES, {"payment_id": payment.id})
    return [Share(*row) for row in rows]


def post(
    session: Session,
    payment: Payment,
    actor: Actor,
    shares: Sequence[Share] | None = None,
    **columns: Any,
) -> Receipt:
    """Post an approved card payment: authorize and post it, apply it, issue the receipt.

    `shares` are its allocations when the caller has them (else they are read);
    `columns` are what the gateway said, written in the same UPDATE.
    """
    advance(session, payment, (PaymentStatus.AUTHORIZED, PaymentStatus.POSTED), actor, **columns)
    return apply(session, payment, shares_of(session, payment) if shares is None else shares, actor)


class Overpaid(Exception):
    """A bill would be paid more than it owes: another payment paid it meanwhile."""

    def __init__(self, invoice_numbers: list[str]) -> None:
        super().__init__(", ".join(invoice_numbers))
        self.invoice_numbers = invoice_numbers


def apply(
    session: Session,
    payment: Payment,
    shares: Sequence[Share],
    actor: Actor,
    *,
    refuse_overpayment: bool = False,
) -> Receipt:
    """Apply a posted payment to its bills and accounts, issue its receipt, queue the email
    and the write-back to the source systems the bills came from.

    With `refuse_overpayment` (nothing charged yet: cash, cheque), raise Overpaid when a
    bill would end up paid more than it owes; the caller rolls back. A card payment the
    gateway has taken pays each bill up to what it owed; the rest is kept as a credit on
    the account and an overpayment exception is opened (`shared.payments.credits`).
    """
    overpaid, bills, systems = _pay_bills(session, payment, shares, actor)
    if overpaid and refuse_overpayment:
        raise Overpaid([bill.invoice_number for bill, _excess in overpaid])
    for bill, excess in overpaid:
        _keep_excess(session, payment, bill, excess, actor)
    duplicates.flag(session, payment, actor)
    receipt = receipts.issue(session, payment, actor)
    write_back.queue(session, payment, receipt, bills, systems)
    if payment.payer_email:
        outbox.enqueue(
            session,
            RECEIPT_EMAIL,
            {"receipt_id": receipt.id, "to": payment.payer_email, "locale": payment.locale},
        )
    return receipt


def _keep_excess(
    session: Session, payment: Payment, bill: write_back.PaidBill, excess: int, actor: Actor
) -> None:
    """The bill keeps what it owed; its allocation shrinks to that; the rest is a credit."""
    connection = session.connection()
    connection.execute(
        update(INVOICES)
        .where(INVOICES.c.id == bill.invoice_id)
        .values(amount_paid=INVOICES.c.amount_paid - excess)
    )
    connection.execute(
        update(ALLOCATIONS)
        .where(
            ALLOCATIONS.c.payment_id == payment.id,
            ALLOCATIONS.c.invoice_id == bill.invoice_id,
        )
        .values(amount=ALLOCATIONS.c.amount - excess)
    )
    _expire_loaded(session, Invoice, bill.invoice_id)
    credits.keep_excess(
        session, payment, bill.invoice_id, bill.invoice_number, bill.account_id, excess, actor
    )


def _per_row(table: Table, n: int) -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """A CASE giving each of n rows (by id) its own amount, and the WHERE choosing them."""
    ids = [bindparam(f"id{k}", type_=table.c.id.type) for k in range(n)]
    amount = case(
        *(
            (table.c.id == row, bindparam(f"amount{k}", type_=BigInteger()))
            for k, row in enumerate(ids)
        )
    )
    return amount, table.c.id.in_(ids)


def _params(amounts: dict[int, int]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for k, (row_id, amount) in enumerate(amounts.items()):
        params[f"id{k}"], params[f"amount{k}"] = row_id, amount
    return params


@functools.cache
def _pay_invoices(n: int) -> Update:
    amount, chosen = _per_row(INVOICES, n)
    paid = INVOICES.c.amount_paid + amount
    return (
        update(INVOICES)
        .where(chosen)
        .values(
            amount_paid=paid,
            status=case(
                (INVOICES.c.amount_due <= paid, InvoiceStatus.PAID.value),
                else_=INVOICES.c.status,
            ),
        )
        .returning(
            INVOICES.c.id,
            INVOICES.c.invoice_number,
            (INVOICES.c.amount_due - INVOICES.c.amount_paid).label("owing"),
        )
    )


@functools.cache
def _charge_accounts(n: int) -> Update:
    amount, chosen = _per_row(ACCOUNTS, n)
    return (
        update(ACCOUNTS)
        .where(chosen)
        .values(balance=ACCOUNTS.c.balance - amount, balance_as_of=bindparam("as_of"))
        .returning(ACCOUNTS.c.id, ACCOUNTS.c.source_system)
    )


def _pay_bills(
    session: Session, payment: Payment, shares: Sequence[Share], actor: Actor
) -> tuple[list[tuple[write_back.PaidBill, int]], list[write_back.PaidBill], dict[int, str]]:
    """Apply the shares. Returns each bill now paid beyond what it owed with the excess,
    each bill as the payment left it (what it paid, capped at what the bill owed), and
    each account's source system."""
    connection = session.connection()
    by_invoice = {share.invoice_id: share.amount for share in shares}
    paid = {
        row.id: row
        for row in connection.execute(_pay_invoices(len(by_invoice)), _params(by_invoice))
    }
    by_account: dict[int, int] = {}
    for share in shares:
        by_account[share.account_id] = by_account.get(share.account_id, 0) + share.amount
    charged = connection.execute(
        _charge_accounts(len(by_account)), _params(by_account) | {"as_of": utcnow()}
    )
    systems = {row.id: row.source_system for row in charged}
    bills = []
    overpaid = []
    for share in shares:
        invoice = paid[share.invoice_id]
        excess = min(max(-int(invoice.owing), 0), share.amount)
        bill = write_back.PaidBill(
            share.account_id,
            share.invoice_id,
            invoice.invoice_number,
            share.amount - excess,
            max(int(invoice.owing), 0),
        )
        bills.append(bill)
        if excess:
            overpaid.append((bill, excess))
        audit.record(
            session,
            actor,
            audit.AuditAction.INVOICE_PAID,
            "invoice",
            invoice.invoice_number,
            {
                "transaction_id": payment.transaction_id,
                "amount": bill.amount,
                "owing_after": bill.owing_after,
                **({"credit": excess} if excess else {}),
            },
        )
        _expire_loaded(session, Invoice, share.invoice_id)
        _expire_loaded(session, Account, share.account_id)
    return overpaid, bills, systems


def _expire_loaded(session: Session, model: type[Invoice] | type[Account], pk: int) -> None:
    """Objects the caller already holds reload their new balances on next access."""
    loaded = session.identity_map.get(session.identity_key(model, pk))
    if loaded is not None:
        session.expire(loaded)


def apply_gateway_answer(
    session: Session,
    gateway: PaymentGateway,
    payment: Payment,
    answer: Transaction,
    actor: Actor,
    shares: Sequence[Share] | None = None,
) -> Receipt | None:
    """Record what the gateway said about an in-doubt card payment and move it on.

    If someone else already settled the question (the recovery job, or the
    original request finishing late), leave it; if we had given up on it as
    failed but the gateway did charge, void the charge so nobody pays twice.
    """
    session.refresh(payment, with_for_update=True)
    if payment.status not in IN_DOUBT:
        if payment.status is PaymentStatus.FAILED and answer.approved and answer.reference:
            gateway.void(reference=answer.reference, our_key=f"{payment.idempotency_key}:void")
        return receipts.for_payment(session, payment)
    said: dict[str, Any] = {"gateway": gateway.name, "gateway_reference": answer.reference}
    if answer.card is not None:
        said |= {
            "card_brand": answer.card.brand,
            "card_last4": answer.card.last4,
            "card_exp_month": answer.card.exp_month,
            "card_exp_year": answer.card.exp_year,
        }
    if answer.state is TransactionState.DECLINED:
        said["decline_code"] = answer.decline_code
        move(session, payment, PaymentStatus.DECLINED, actor, answer.decline_message, **said)
        return None
    receipt = post(session, payment, actor, shares, **said)
    if answer.state is TransactionState.SETTLED and answer.settlement_batch:
        # Confirmed only after the processor's batch closed (it was in doubt at the
        # import): settled as the processor says, not left posted for ever.
        move(
            session,
            payment,
            PaymentStatus.SETTLED,
            actor,
            f"Settlement batch {answer.settlement_batch}",
            settlement_batch=answer.settlement_batch,
        )
    return receipt
