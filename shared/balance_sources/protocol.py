"""What a balance source is: given an account number, the account's bills as the source
system holds them now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SourceBill:
    """One bill as its source system sees it; amounts in minor units."""

    invoice_number: str
    owing: int
    amount_due: int
    fee_type: str | None = None
    description: str | None = None
    due_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """An account's open bills at the source's time `as_of`; a bill not listed owes nothing."""

    account_number: str
    as_of: dt.datetime
    bills: tuple[SourceBill, ...]

    @property
    def owing(self) -> int:
        return sum(bill.owing for bill in self.bills)


class SourceUnavailable(Exception):
    """The source did not answer usefully (down, too slow, an error, a malformed answer):
    `reason` says which, in words for the log and for staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownAccount(SourceUnavailable):
    """The source does not know the account."""


class BalanceSource(Protocol):
    """Answers "what does this account owe right now?" for one source system."""

    def statement(self, account_number: str) -> Statement:
        """The account's open bills now; UnknownAccount if the source has no such account,
        SourceUnavailable for anything else that stops an answer (never another error)."""
        ...
