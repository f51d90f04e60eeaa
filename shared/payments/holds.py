"""Holds: no second payment of a bill while a card payment for it is in doubt.

A card payment is written `pending` before the processor is asked, and may stay
`unknown` for a while when the processor does not answer. Meanwhile the amount it would
pay on each bill is *held*: a second payment of that amount (another browser, a counter
payment, the kiosk) is refused with "a payment of $X for this bill is being confirmed",
so nobody is charged twice for one bill.

A hold is placed in the transaction that writes the payment, with the bills locked
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite has one writer at a time), so two payments
racing for one bill see each other. It is released by the state machine
(`shared.payments.states`) in the transaction that moves the payment out of doubt:
approved ("applied": the payment now pays the bill), declined or failed ("released").
A hold therefore never outlives its payment's doubt, whoever resolves it: the request
itself, the recovery job or a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

from babel.dates import format_time
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shared.i18n import N_
from shared.models import HoldOutcome, Payment, PaymentHold
from shared.money import Money, babel_locale

HOLDS = cast(Table, PaymentHold.__table__)
PAYMENTS = cast(Table, Payment.__table__)

_HELD = (
    select(
        HOLDS.c.invoice_id,
        func.sum(HOLDS.c.amount).label("amount"),
        func.min(HOLDS.c.started_at).label("since"),
        func.min(PAYMENTS.c.transaction_id).label("transaction_id"),
    )
    .join(PAYMENTS, PAYMENTS.c.id == HOLDS.c.payment_id)
    .where(
        HOLDS.c.invoice_id.in_(bindparam("invoice_ids", expanding=True)),
        HOLDS.c.released_at.is_(None),
    )
    .group_by(HOLDS.c.invoice_id)
)
_PLACE = insert(HOLDS)
_RELEASE = (
    update(HOLDS)
    .where(HOLDS.c.payment_id == bindparam("of_payment"), HOLDS.c.released_at.is_(None))
    .values(released_at=bindparam("at"), outcome=bindparam("with_outcome"))
)


@dataclass(frozen=True, slots=True)
class Held:
    """What is held on one bill: the sum of its open holds, since the earliest of them."""

    invoice_id: int
    amount: int
    since: dt.datetime
    transaction_id: str  # one of the payments holding it (the earliest ID), for staff


def held_on(session: Session, invoice_ids: Iterable[int]) -> dict[int, Held]:
    """The open holds on these bills, by bill."""
    ids = list(invoice_ids)
    if not ids:
        return {}
    rows = session.connection().execute(_HELD, {"invoice_ids": ids})
    return {
        row.invoice_id: Held(row.invoice_id, int(row.amount), row.since, row.transaction_id)
        for row in rows
    }


def place(
    session: Session, payment_id: int, shares: Sequence[tuple[int, int]], at: dt.datetime
) -> None:
    """Hold (invoice id, amount) for each bill the in-doubt payment would pay."""
    session.connection().execute(
        _PLACE,
        [
            {"payment_id": payment_id, "invoice_id": invoice_id, "amount": amount, "started_at": at}
            for invoice_id, amount in shares
        ],
    )


def release(session: Session, payment_id: int, outcome: HoldOutcome, at: dt.datetime) -> None:
    """End the payment's open holds (the state machine calls this as it leaves doubt)."""
    session.connection().execute(
        _RELEASE, {"of_payment": payment_id, "at": at, "with_outcome": outcome.value}
    )


def notice(
    held: Held, owing: int, number: str, currency: str, locale: str, timezone: str
) -> tuple[str, dict[str, str]]:
    """What to tell someone about to pay bill `number` while `held` of it is being
    confirmed: a message to translate, and its values (amounts and time in `locale`)."""

    def shown(minor: int) -> str:
        return Money(minor, currency).format(locale)

    since = held.since.astimezone(ZoneInfo(timezone))
    values = {
        "held": shown(held.amount),
        "number": number,
        "since": str(format_time(since, format="short", locale=babel_locale(locale))),
    }
    if held.amount >= owing:
        message = N_(
            "A payment of %(held)s for bill %(number)s is being confirmed (started at "
            "%(since)s). There is no need to pay it again."
        )
        return message, values
    message = N_(
        "A payment of %(held)s for bill %(number)s is being confirmed (started at "
        "%(since)s). Until it is, at most %(available)s more can be paid."
    )
    return message, values | {"available": shown(owing - held.amount)}
