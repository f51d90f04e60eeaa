"""What an account owes, re-read from its balance source.

The built-in source is `local`: the bills held in Paydesk. Other sources (a tax or
utility system's API, or balances pushed to us) plug in here with the integrations
work; until then every account is read from its local bills.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.models import Account, Invoice, InvoiceStatus


def refresh(session: Session, accounts: list[Account]) -> None:
    """Recompute each account's balance from its open bills and stamp the time."""
    if not accounts:
        return
    rows = session.execute(
        select(Invoice.account_id, func.sum(Invoice.amount_due - Invoice.amount_paid))
        .where(
            Invoice.account_id.in_([a.id for a in accounts]),
            Invoice.status == InvoiceStatus.OPEN,
        )
        .group_by(Invoice.account_id)
    )
    owing = {account_id: total for account_id, total in rows}
    now = utcnow()
    for account in accounts:
        account.balance = int(owing.get(account.id) or 0)
        account.balance_as_of = now
