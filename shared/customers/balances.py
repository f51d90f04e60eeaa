"""What an account owes: its open bills, less any credit it holds.

balance = what the open bills still owe − open credits (money paid beyond a bill, kept
for the customer until refunded: `shared.payments.credits`). The built-in source of the
bills is `local`: the bills held in Paydesk. Other sources (a tax or utility system's
API, or balances pushed to us) plug in here with the integrations work.

Refreshing is a write, so it is audited (each account's balance before and after), and
since it recomputes both parts from their rows it can never erase a credit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.models import Account, AccountCredit, CreditStatus, Invoice, InvoiceStatus


def open_bills(session: Session, account_ids: Iterable[int]) -> dict[int, int]:
    """What the open bills of each account still owe (accounts owing nothing are left out)."""
    ids = list(account_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Invoice.account_id, func.sum(Invoice.amount_due - Invoice.amount_paid))
        .where(Invoice.account_id.in_(ids), Invoice.status == InvoiceStatus.OPEN)
        .group_by(Invoice.account_id)
    )
    return {account_id: int(total) for account_id, total in rows if total}


def open_credits(session: Session, account_ids: Iterable[int]) -> dict[int, int]:
    """The open credit of each account (accounts without one are left out)."""
    ids = list(account_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(AccountCredit.account_id, func.sum(AccountCredit.remaining))
        .where(AccountCredit.account_id.in_(ids), AccountCredit.status == CreditStatus.OPEN)
        .group_by(AccountCredit.account_id)
    )
    return {account_id: int(total) for account_id, total in rows if total}


def refresh(session: Session, accounts: list[Account], actor: Actor) -> None:
    """Recompute each account's balance (open bills − open credits), stamp the time and
    audit what changed."""
    if not accounts:
        return
    ids = [a.id for a in accounts]
    owing, credit = open_bills(session, ids), open_credits(session, ids)
    now = utcnow()
    changed = {}
    for account in accounts:
        balance = owing.get(account.id, 0) - credit.get(account.id, 0)
        if balance != account.balance:
            changed[account.account_number] = {"before": account.balance, "after": balance}
        account.balance, account.balance_as_of = balance, now
    audit.record(
        session,
        actor,
        audit.AuditAction.BALANCES_REFRESHED,
        "customer",
        accounts[0].customer_id,
        {"accounts": [a.account_number for a in accounts], "changed": changed},
    )
