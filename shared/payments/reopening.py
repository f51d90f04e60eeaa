"""Taking money back off bills: what a void, a refund or a reversal does to the bills,
credits and accounts a payment paid, one line per bill (or credit) for the correction.

A bill that gets money taken off what was paid owes it again (it reopens); a credit that
is paid out or cancelled stops counting against the account's balance. The account's
stored balance moves by the same amounts, so balance = open bills − open credits holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.models import (
    Account,
    AccountCredit,
    Allocation,
    Correction,
    CorrectionLine,
    CreditStatus,
    Invoice,
    InvoiceStatus,
)
from shared.money import allocate


@dataclass(frozen=True, slots=True)
class Part:
    """Some of what a payment paid on one bill: `amount` of its allocation there."""

    invoice_id: int
    account_id: int
    gl_account: str
    amount: int


def still_paid(session: Session, payment_id: int) -> list[Part]:
    """What the payment still pays on each bill: its allocations less the earlier
    corrections that took money off them (in allocation order)."""
    taken = dict(
        session.execute(
            select(CorrectionLine.invoice_id, func.sum(CorrectionLine.amount))
            .join(Correction, Correction.id == CorrectionLine.correction_id)
            .where(
                Correction.payment_id == payment_id,
                CorrectionLine.invoice_id.is_not(None),
                CorrectionLine.credit_id.is_(None),
            )
            .group_by(CorrectionLine.invoice_id)
        ).all()
    )
    parts = []
    for allocation in session.scalars(
        select(Allocation).where(Allocation.payment_id == payment_id).order_by(Allocation.id)
    ):
        left = allocation.amount + int(taken.get(allocation.invoice_id) or 0)
        if left > 0:
            parts.append(
                Part(allocation.invoice_id, allocation.account_id, allocation.gl_account, left)
            )
    return parts


def open_credits(session: Session, payment_id: int) -> list[AccountCredit]:
    return list(
        session.scalars(
            select(AccountCredit)
            .where(
                AccountCredit.payment_id == payment_id,
                AccountCredit.status == CreditStatus.OPEN,
                AccountCredit.remaining > 0,
            )
            .order_by(AccountCredit.id)
            .with_for_update()
        )
    )


def proportional(parts: Sequence[Part], amount: int) -> list[Part]:
    """`amount` spread over `parts` in proportion to each (largest remainder: the pieces
    sum to `amount` exactly)."""
    pieces = allocate(amount, [p.amount for p in parts])
    return [
        Part(p.invoice_id, p.account_id, p.gl_account, piece)
        for p, piece in zip(parts, pieces, strict=True)
        if piece
    ]


def take_off_bills(session: Session, correction: Correction, parts: Sequence[Part]) -> None:
    """Take each part off what its bill has been paid (the bill reopens), and add it back
    to its account's balance."""
    for part in parts:
        session.execute(
            update(Invoice)
            .where(Invoice.id == part.invoice_id)
            .values(amount_paid=Invoice.amount_paid - part.amount, status=InvoiceStatus.OPEN)
        )
        _move_balance(session, part.account_id, part.amount)
        correction.lines.append(
            CorrectionLine(
                invoice_id=part.invoice_id,
                account_id=part.account_id,
                gl_account=part.gl_account,
                amount=-part.amount,
            )
        )


def take_off_credits(
    session: Session,
    correction: Correction,
    credits: Sequence[AccountCredit],
    amount: int,
    closed_as: CreditStatus,
) -> int:
    """Pay out (or cancel) up to `amount` of these credits, oldest first; returns how
    much was taken."""
    taken = 0
    for credit in credits:
        piece = min(credit.remaining, amount - taken)
        if piece <= 0:
            break
        credit.remaining -= piece
        if credit.remaining == 0:
            credit.status, credit.closed_at = closed_as, utcnow()
        _move_balance(session, credit.account_id, piece)
        correction.lines.append(
            CorrectionLine(
                invoice_id=credit.invoice_id,
                account_id=credit.account_id,
                credit_id=credit.id,
                gl_account=credit.gl_account,
                amount=-piece,
            )
        )
        taken += piece
    return taken


def _move_balance(session: Session, account_id: int, amount: int) -> None:
    session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(balance=Account.balance + amount, balance_as_of=utcnow())
    )
