"""Exact money: integer minor units plus an ISO 4217 currency. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    parse_decimal,
)


class MoneyError(ValueError):
    """A value that cannot be money: mixed currencies, bad input, too many decimals."""


def minor_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


@dataclass(frozen=True, slots=True, order=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError("money is an integer count of minor units")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise MoneyError(f"not an ISO 4217 currency code: {self.currency!r}")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __bool__(self) -> bool:
        return self.minor != 0

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_digits(self.currency))

    def format(self, locale: str = "en") -> str:
        """The amount as a person in `locale` writes it, e.g. `$1,234.56` or `1 234,56 $`."""
        return str(format_currency(self.decimal, self.currency, locale=babel_locale(locale)))

    def plain(self) -> str:
        """Machine-readable decimal string, e.g. `1234.56` (for forms, CSV, APIs)."""
        return f"{self.decimal:.{minor_digits(self.currency)}f}"

    def __str__(self) -> str:
        return f"{self.plain()} {self.currency}"


def babel_locale(locale: str) -> str:
    # Our UI locales are bare languages; give Babel a region so currency symbols read naturally.
    return {"en": "en_CA", "fr": "fr_CA", "es": "es"}.get(locale, locale)


_NUMBER_LIKE = re.compile(r"[-+]?[0-9][0-9 .,']*")


def parse_money(text: str, currency: str, locale: str = "en") -> Money:
    """Parse what a person typed (`1 234,56` in French, `1,234.56` in English) into Money.

    Raises MoneyError with a reason fit to show: empty, not a number, too many
    decimals. Sign and range checks are the caller's (they depend on context).
    """
    cleaned = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    for symbol in ("$", "€", "£", currency):
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.strip()
    if not cleaned:
        raise MoneyError("Enter an amount.")
    if not _NUMBER_LIKE.fullmatch(cleaned):
        raise MoneyError("Enter the amount as a number, like 125.50.")
    try:
        value = parse_decimal(cleaned.replace(" ", ""), locale=babel_locale(locale), strict=True)
    except (NumberFormatError, InvalidOperation):
        raise MoneyError("Enter the amount as a number, like 125.50.") from None
    digits = minor_digits(currency)
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise MoneyError("Enter the amount as a number, like 125.50.")
    if exponent < -digits:
        raise MoneyError(f"Use at most {digits} decimal places.")
    return Money(int(value.scaleb(digits)), currency)


def allocate(total: int, owed: list[int]) -> list[int]:
    """Split `total` across items in proportion to what each owes (largest remainder).

    The parts always sum to `total`, are never negative, and never exceed what
    an item owes. Raises MoneyError if `total` is negative or more than all owed.
    """
    if total < 0 or any(o < 0 for o in owed):
        raise MoneyError("amounts cannot be negative")
    whole = sum(owed)
    if total > whole:
        raise MoneyError("the payment is more than is owed")
    if total == whole:
        return list(owed)
    floors = [total * o // whole for o in owed]
    remainders = [total * o % whole for o in owed]
    short = total - sum(floors)
    # Hand the leftover units to the largest remainders; ties go to the earlier item.
    order = sorted(range(len(owed)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return floors
