"""The built-in source: the bills held in Paydesk (today's behaviour, and the default)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.balance_sources.protocol import SourceBill, Statement, UnknownAccount
from shared.db import utcnow
from shared.models import Account, FeeType, Invoice, InvoiceStatus


class LocalSource:
    """Reads the account's open bills from the session it is given."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def statement(self, account_number: str) -> Statement:
        account_id = self.session.scalar(
            select(Account.id).where(Account.account_number == account_number)
        )
        if account_id is None:
            raise UnknownAccount(f"no account {account_number} here")
        rows = self.session.execute(
            select(Invoice, FeeType.code)
            .join(FeeType, Invoice.fee_type_id == FeeType.id)
            .where(Invoice.account_id == account_id, Invoice.status == InvoiceStatus.OPEN)
            .order_by(Invoice.due_date, Invoice.id)
        )
        bills = tuple(
            SourceBill(
                invoice.invoice_number,
                invoice.owing,
                invoice.amount_due,
                code,
                invoice.description,
                invoice.due_date,
            )
            for invoice, code in rows
            if invoice.owing > 0
        )
        return Statement(account_number, utcnow(), bills)
