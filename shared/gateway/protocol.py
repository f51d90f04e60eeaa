"""The payment gateway seam: what Paydesk asks of a card processor.

The sandbox (shared/gateway/sandbox/) is the embedded default; real processors
plug in behind the same Protocol. Paydesk never sees a card number: cards are
typed on the gateway's hosted page (or read at the kiosk and sent straight to
the gateway's card-present endpoint) and Paydesk gets a token back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class GatewayError(Exception):
    """The gateway refused the request outright (bad token, unknown reference ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class GatewayTimeout(Exception):
    """No answer in time: the gateway may or may not have acted. Ask again with `lookup`."""


class TransactionState(StrEnum):
    """The gateway's view of one of our payments."""

    DECLINED = "declined"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class CardSummary:
    """All Paydesk may keep about a card (PCI): brand, last 4, expiry."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class HostedSession:
    id: str
    url: str


@dataclass(frozen=True, slots=True)
class HostedResult:
    """What the hosted page produced: a token on success, or the payer cancelled."""

    session_id: str
    completed: bool
    token: str | None
    card: CardSummary | None
    our_key: str


@dataclass(frozen=True, slots=True)
class Transaction:
    """The gateway's answer about one of our payments (from authorize or lookup)."""

    our_key: str
    state: TransactionState
    amount: int
    currency: str
    reference: str | None
    card: CardSummary | None
    decline_code: str | None = None
    decline_message: str | None = None
    refunded_amount: int = 0
    settlement_batch: str | None = None

    @property
    def approved(self) -> bool:
        return self.state is not TransactionState.DECLINED


@dataclass(frozen=True, slots=True)
class SettlementLine:
    our_key: str
    reference: str
    kind: str  # "sale", "refund" or "chargeback" (the cardholder's bank took a sale back)
    amount: int
    currency: str
    card_brand: str
    card_last4: str
    captured_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SettlementBatch:
    batch_id: str
    closed_at: dt.datetime
    lines: tuple[SettlementLine, ...]
    report_csv: str

    @property
    def net(self) -> int:
        return sum(ln.amount if ln.kind == "sale" else -ln.amount for ln in self.lines)


class PaymentGateway(Protocol):
    """A card processor. Every money-moving call carries our idempotency key."""

    name: str

    def create_hosted_session(
        self,
        *,
        amount: int,
        currency: str,
        our_key: str,
        return_url: str,
        cancel_url: str,
        locale: str,
        description: str,
    ) -> HostedSession:
        """Start a hosted card page; send the payer's browser to `url`."""
        ...

    def hosted_result(self, session_id: str) -> HostedResult:
        """What the payer did on the hosted page (raises GatewayError if unknown)."""
        ...

    def authorize(
        self, *, token: str, amount: int, currency: str, our_key: str, capture: bool = True
    ) -> Transaction:
        """Authorize (and by default capture) a tokenized card. Declines come back as a
        Transaction in state DECLINED; no answer raises GatewayTimeout. Repeating a call
        with the same `our_key` returns the first answer and never charges twice."""
        ...

    def capture(self, *, reference: str, amount: int, our_key: str) -> Transaction: ...

    def void(self, *, reference: str, our_key: str) -> Transaction: ...

    def refund(self, *, reference: str, amount: int, our_key: str) -> Transaction: ...

    def lookup(self, our_key: str) -> Transaction | None:
        """The gateway's record for our key, or None if it never heard of it."""
        ...

    def settle(self, *, until: dt.datetime) -> SettlementBatch:
        """Close the day: batch everything captured (and refunded) up to `until`."""
        ...
