"""What a receipt says, independent of how it is rendered (page, PDF, print, email)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.money import Money


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One allocation: the fee paid in one department."""

    department: str
    fee_type: str
    account_number: str
    invoice_number: str
    description: str
    gl_account: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ReceiptCorrection:
    """Money given back after the payment: a refund, a void (cancelled), a reversal."""

    id: int
    kind: str  # "refund", "void", "reversal"
    at: dt.datetime
    amount: Money


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    org_name: str
    receipt_number: str
    transaction_id: str
    issued_at: dt.datetime
    payer_name: str
    channel: str
    tender: str  # "card", "cash", "cheque"
    card_brand: str | None
    card_last4: str | None
    cheque_number: str | None
    cash_tendered: Money | None
    change_due: Money | None
    lines: tuple[ReceiptLine, ...]
    total: Money
    status: str
    verify_url: str
    locale: str = "en"
    # PAYDESK_TIMEZONE: `issued_at` is in it, and the receipt names it.
    timezone: str = "UTC"
    # What the payment paid beyond its bills, kept as a credit on the account.
    credit: Money | None = None
    corrections: tuple[ReceiptCorrection, ...] = ()
