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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, insert, select
from sqlalchemy.orm import Session

from shared import outbox
from shared.db import utcnow
from shared.models import (
    Account,
    OutboxMessage,
    Payment,
    WriteBack,
    WriteBackStatus,
)

WRITE_BACK = "write_back"
LOCAL = "local"

WRITE_BACKS = cast(Table, WriteBack.__table__)
_INSERT = insert(WRITE_BACKS)


def queue(session: Session, payment: Payment, charged: Iterable[tuple[int, str, int]]) -> None:
    """Queue the news for each (account id, source system, amount) not held locally."""
    rows = []
    for account_id, system, amount in charged:
        if system == LOCAL:
            continue
        message = outbox.enqueue(
            session, WRITE_BACK, {"payment_id": payment.id, "account_id": account_id}
        )
        rows.append(
            {
                "payment_id": payment.id,
                "account_id": account_id,
                "source_system": system,
                "amount": amount,
                "status": WriteBackStatus.PENDING,
                "outbox_message_id": message.id,
                "created_at": utcnow(),
            }
        )
    if rows:
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
