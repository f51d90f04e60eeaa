"""Write-back: telling a bill's source system that it was paid.

An account whose bills come from another system (tax, utility billing …) names that
system in `source_system`; "local" bills live in Paydesk and need no news. When a
payment posts, each such account gets a WriteBack row and an outbox message in the
payment's own transaction, so a source system that is down delays the news but never
loses it. Staff see "write-back pending" until the system confirms. The sending lives
in integrations/write_back.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from shared.actors import Actor
from shared.db import utcnow
from shared.exceptions import cases
from shared.messaging import outbox
from shared.models import (
    Account,
    Allocation,
    Correction,
    ExceptionKind,
    FeeType,
    Invoice,
    OutboxMessage,
    Payment,
    Receipt,
    WriteBack,
    WriteBackStatus,
)

WRITE_BACK = "write_back"
LOCAL = "local"

WRITE_BACKS = cast(Table, WriteBack.__table__)
_INSERT = insert(WRITE_BACKS)
# The names the news gives, for each of a payment's allocations: one Core statement,
# compiled once (this is on the payment path).
_ALLOCATIONS = cast(Table, Allocation.__table__)
_ACCOUNTS = cast(Table, Account.__table__)
_FEE_TYPES = cast(Table, FeeType.__table__)
_NAMES = (
    select(
        _ALLOCATIONS.c.invoice_id,
        _ALLOCATIONS.c.account_id,
        _ACCOUNTS.c.account_number,
        _FEE_TYPES.c.code,
    )
    .join(_ACCOUNTS, _ALLOCATIONS.c.account_id == _ACCOUNTS.c.id)
    .join(_FEE_TYPES, _ALLOCATIONS.c.fee_type_id == _FEE_TYPES.c.id)
    .where(_ALLOCATIONS.c.payment_id == bindparam("payment_id"))
)


@dataclass(frozen=True, slots=True)
class PaidBill:
    """One bill as a payment left it: what its source system is told."""

    account_id: int
    invoice_id: int
    invoice_number: str
    amount: int
    owing_after: int


def queue(
    session: Session,
    payment: Payment,
    receipt: Receipt,
    bills: Sequence[PaidBill],
    systems: Mapping[int, str],
) -> None:
    """Queue the news for each account (id -> its source system) not held locally.

    The message body is written now, in the payment's transaction: every retry sends the
    same bytes under the same idempotency key, as a receiver that dedupes expects.
    """
    remote = {account: system for account, system in systems.items() if system != LOCAL}
    if not remote:
        return
    numbers: dict[int, str] = {}
    fee_types: dict[int, str] = {}
    for invoice_id, account_id, account_number, fee_type in session.connection().execute(
        _NAMES, {"payment_id": payment.id}
    ):
        numbers[account_id], fee_types[invoice_id] = account_number, fee_type
    rows = []
    for account_id, system in remote.items():
        paid = [b for b in bills if b.account_id == account_id]
        body = {
            "event": "payment.posted",
            "id": f"{payment.transaction_id}:{numbers[account_id]}",
            "transaction_id": payment.transaction_id,
            "receipt_number": receipt.receipt_number,
            "posted_at": (payment.posted_at or utcnow()).isoformat(),
            "channel": str(payment.channel),
            "tender": str(payment.tender),
            "currency": payment.currency,
            "account_number": numbers[account_id],
            "amount": sum(b.amount for b in paid),
            "lines": [
                {
                    "invoice_number": b.invoice_number,
                    "fee_type": fee_types[b.invoice_id],
                    "amount": b.amount,
                    "owing_after": b.owing_after,
                }
                for b in paid
            ],
        }
        message = outbox.enqueue(
            session,
            WRITE_BACK,
            {"payment_id": payment.id, "account_id": account_id, "body": body},
        )
        rows.append(
            {
                "payment_id": payment.id,
                "account_id": account_id,
                "source_system": system,
                "amount": body["amount"],
                "status": WriteBackStatus.PENDING,
                "outbox_message_id": message.id,
                "created_at": utcnow(),
            }
        )
    session.connection().execute(_INSERT, rows)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A write-back as staff see it: what, where, and how its sending goes."""

    write_back: WriteBack
    account_number: str
    transaction_id: str
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None

    @property
    def pending(self) -> bool:
        return self.write_back.status is WriteBackStatus.PENDING


def _deliveries(session: Session, *where: ColumnElement[bool], limit: int) -> list[Delivery]:
    rows = session.execute(
        select(
            WriteBack,
            Account.account_number,
            Payment.transaction_id,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.next_attempt_at,
        )
        .join(Account, WriteBack.account_id == Account.id)
        .join(Payment, WriteBack.payment_id == Payment.id)
        .outerjoin(OutboxMessage, WriteBack.outbox_message_id == OutboxMessage.id)
        .where(*where)
        .order_by(WriteBack.id)
        .limit(limit)
    ).all()
    return [
        Delivery(
            wb,
            number,
            transaction_id,
            attempts or 0,
            last_error,
            next_at if wb.status is WriteBackStatus.PENDING else None,
        )
        for wb, number, transaction_id, attempts, last_error, next_at in rows
    ]


def pending_for(session: Session, account_ids: list[int], limit: int = 10) -> list[Delivery]:
    """The oldest unconfirmed write-backs of these accounts (at most `limit`)."""
    if not account_ids:
        return []
    return _deliveries(
        session,
        WriteBack.account_id.in_(account_ids),
        WriteBack.status == WriteBackStatus.PENDING,
        limit=limit,
    )


def of_payment(session: Session, payment_id: int) -> list[Delivery]:
    """Every write-back of one payment (one per account held in another system)."""
    return _deliveries(session, WriteBack.payment_id == payment_id, limit=100)


def flag_failing(session: Session, attempts: int, actor: Actor) -> int:
    """Open a write-back-failing exception for each unconfirmed write-back whose sending
    failed `attempts` times or more (once per write-back); returns how many there are."""
    failing = _deliveries(
        session,
        WriteBack.status == WriteBackStatus.PENDING,
        OutboxMessage.attempts >= attempts,
        limit=200,
    )
    for delivery in failing:
        wb = delivery.write_back
        cases.open_case(
            session,
            actor,
            ExceptionKind.WRITE_BACK_FAILING,
            f"{delivery.transaction_id}:{delivery.account_number}",
            payment_id=wb.payment_id,
            account_id=wb.account_id,
            amount=wb.amount,
            details={
                "system": wb.source_system,
                "attempts": delivery.attempts,
                "last_error": delivery.last_error,
            },
        )
    return len(failing)


_EVENTS = {"void": "payment.voided", "refund": "payment.refunded", "reversal": "payment.reversed"}


def queue_correction(session: Session, correction: Correction, payment: Payment) -> None:
    """Queue the news of a payment's correction (void, refund, reversal) for each account
    of another system whose bills it reopened: each line's amount (negative: taken off
    what was paid) and what the bill owes after. Written in the correction's transaction,
    like a payment's news, under its own idempotency key (`<TX>:<account>:C<id>`)."""
    session.flush()
    lines: dict[int, list[dict[str, object]]] = {}
    accounts: dict[int, Account] = {}
    for line in correction.lines:
        account = session.get(Account, line.account_id)
        if account is None or account.source_system == LOCAL or line.invoice_id is None:
            continue
        invoice = session.get(Invoice, line.invoice_id)
        assert invoice is not None
        session.refresh(invoice)
        accounts[account.id] = account
        lines.setdefault(account.id, []).append(
            {
                "invoice_number": invoice.invoice_number,
                "fee_type": invoice.fee_type.code,
                "amount": line.amount,
                "owing_after": invoice.owing,
            }
        )
    for account_id, changed in lines.items():
        account = accounts[account_id]
        body = {
            "event": _EVENTS[correction.kind.value],
            "id": f"{payment.transaction_id}:{account.account_number}:C{correction.id}",
            "transaction_id": payment.transaction_id,
            "correction_id": correction.id,
            "at": correction.created_at.isoformat(),
            "currency": payment.currency,
            "account_number": account.account_number,
            "amount": sum(int(str(c["amount"])) for c in changed),
            "lines": changed,
        }
        message = outbox.enqueue(
            session,
            WRITE_BACK,
            {
                "payment_id": payment.id,
                "account_id": account_id,
                "correction_id": correction.id,
                "body": body,
            },
        )
        session.add(
            WriteBack(
                payment_id=payment.id,
                account_id=account_id,
                correction_id=correction.id,
                source_system=account.source_system,
                amount=body["amount"],
                outbox_message_id=message.id,
            )
        )
