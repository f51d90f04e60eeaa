"""The sandbox's test cards and the checks every typed or read card goes through.

This is the only place test card numbers are written down: the hosted page's
"use a test card" panel and the behaviour lookup both read `SANDBOX_CARDS`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from shared.gateway.protocol import GatewayError
from shared.luhn import luhn_valid


class Behaviour(StrEnum):
    """What the sandbox processor does when a token made from this card is authorized."""

    APPROVE = "approve"
    DECLINE = "decline"
    INSUFFICIENT = "insufficient"
    TIMEOUT_APPROVE = "timeout_approve"
    TIMEOUT_DECLINE = "timeout_decline"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class SandboxCard:
    number: str
    brand: str
    behaviour: Behaviour

    @property
    def spaced(self) -> str:
        """The number grouped as printed on the card (4-6-5 for Amex, else fours)."""
        if self.brand == "amex":
            return f"{self.number[:4]} {self.number[4:10]} {self.number[10:]}"
        return " ".join(self.number[i : i + 4] for i in range(0, len(self.number), 4))


SANDBOX_CARDS: tuple[SandboxCard, ...] = (
    SandboxCard("4242424242424242", "visa", Behaviour.APPROVE),
    SandboxCard("5555555555554444", "mastercard", Behaviour.APPROVE),
    SandboxCard("378282246310005", "amex", Behaviour.APPROVE),
    SandboxCard("4000000000000002", "visa", Behaviour.DECLINE),
    SandboxCard("4000000000009995", "visa", Behaviour.INSUFFICIENT),
    SandboxCard("4000000000000119", "visa", Behaviour.TIMEOUT_APPROVE),
    SandboxCard("4000000000000127", "visa", Behaviour.TIMEOUT_DECLINE),
)

_BEHAVIOURS = {card.number: card.behaviour for card in SANDBOX_CARDS}

# Years ahead a card may claim to expire; further out is a typo, not a card.
MAX_YEARS_AHEAD = 20


class CardError(GatewayError):
    """A card the sandbox will not tokenize; `field` names the input at fault."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(code, message)
        self.field = field


def brand_of(pan: str) -> str:
    if pan.startswith("4"):
        return "visa"
    if pan[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(pan[:2]) <= 55 or 2221 <= int(pan[:4]) <= 2720:
        return "mastercard"
    if pan.startswith(("6011", "65")) or 644 <= int(pan[:3]) <= 649:
        return "discover"
    return "unknown"


def behaviour_of(pan: str) -> Behaviour:
    return _BEHAVIOURS.get(pan, Behaviour.UNSUPPORTED)


_SEPARATORS = re.compile(r"[\s-]+")
_EXPIRY = re.compile(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})")


def read_pan(text: str) -> str:
    """The digits of a typed card number; people type spaces and dashes, so allow them."""
    pan = _SEPARATORS.sub("", text)
    if not (pan.isascii() and pan.isdigit() and 13 <= len(pan) <= 19 and luhn_valid(pan)):
        raise CardError("number", "invalid_number", "Enter a valid card number")
    return pan


def read_expiry(text: str) -> tuple[int, int]:
    """(month, year) from `MM/YY` as printed on the card (`MM/YYYY` is accepted too)."""
    found = _EXPIRY.fullmatch(text.strip())
    if not found:
        raise CardError("expiry", "invalid_expiry", "Enter the expiry date as MM/YY")
    return int(found[1]), int(found[2])


def check_expiry(month: int, year: int, today: dt.date) -> tuple[int, int]:
    """A plausible, unexpired (month, four-digit year); cards work to the end of the month."""
    if year < 100:
        year += 2000
    if not 1 <= month <= 12 or year > today.year + MAX_YEARS_AHEAD:
        raise CardError("expiry", "invalid_expiry", "Enter the expiry date as MM/YY")
    if (year, month) < (today.year, today.month):
        raise CardError("expiry", "expired_card", "The card has expired")
    return month, year


def check_cvc(text: str) -> None:
    cvc = text.strip()
    if not (cvc.isascii() and cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise CardError("cvc", "invalid_cvc", "Enter the 3 or 4 digit security code")


@dataclass(frozen=True, slots=True)
class CardData:
    """A card on its way to becoming a token. Lives in memory only; never stored."""

    # Kept out of repr so a traceback or a log line never carries the number.
    pan: str = field(repr=False)
    exp_month: int
    exp_year: int

    @classmethod
    def read(cls, pan: str, exp_month: int, exp_year: int, today: dt.date) -> CardData:
        month, year = check_expiry(exp_month, exp_year, today)
        return cls(read_pan(pan), month, year)

    @property
    def brand(self) -> str:
        return brand_of(self.pan)

    @property
    def last4(self) -> str:
        return self.pan[-4:]

    @property
    def behaviour(self) -> Behaviour:
        return behaviour_of(self.pan)
