"""Exact money: integer minor units plus an ISO 4217 currency. Never a float."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


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


# Written between digit groups: a space of any width, or an apostrophe (1'234.56).
_SPACES = re.compile("[ \u00a0\u202f\u2009']+")
_BODY = re.compile(r"([-+]?)([0-9.,_]+)")
_PARTS = re.compile(r"[0-9]+|[.,_]")
# A locale's own decimal mark, for the one case that needs it: a single separator
# followed by exactly three digits ("1,234" is 1234 in English, 1,234 a decimal in French).
DECIMAL_MARKS = {"en": ".", "fr": ",", "es": ","}
NOT_A_NUMBER = "Enter the amount as a number, like 125.50."


def _digits_of(integer: list[str]) -> str | None:
    """The digits of an integer part written as groups and separators, if well formed:
    one kind of separator, a first group of 1-3 digits, then groups of exactly three."""
    if not integer:
        return "0"
    groups, separators = integer[::2], set(integer[1::2])
    if len(separators) > 1:
        return None
    if separators and not (
        1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
    ):
        return None
    return "".join(groups)


def _decimal_at(parts: list[str], locale: str) -> int | None:
    """Where the decimal mark is in `parts` (alternating digits and separators), if any.

    The last separator is the decimal mark when nothing after it is a separator and its
    character is not used before it: followed by at most two digits always; by three only
    when other separators precede it ("1.234,567") or it is the locale's own mark; by
    more always (it cannot group thousands).
    """
    marks = [i for i, part in enumerate(parts) if part in ".,"]
    if not marks:
        return None
    last = marks[-1]
    if parts[last] in parts[:last] or any(p in ".,_" for p in parts[last + 1 :]):
        return None
    tail = len(parts[last + 1]) if last + 1 < len(parts) else 0
    if tail != 3:
        return last
    others = any(p in ".,_" for p in parts[:last])
    return last if others or parts[last] == DECIMAL_MARKS.get(locale, ".") else None


def parse_money(text: str, currency: str, locale: str = "en") -> Money:
    """Parse what a person typed into Money: `1 234,56` or `1234.56` in French,
    `1,234.56` or `1234,56` in English, `1.234,56` or `10.00` in Spanish.

    A `.` or `,` used once, last, is the decimal mark whatever the locale (people type
    the one their keyboard or their bank taught them); every other separator groups
    thousands (spaces and apostrophes too) and must stand between groups of three. Only
    a lone separator followed by three digits needs the locale: "1,234" is 1234 in
    English, and in French a decimal with too many places.

    Raises MoneyError with a reason fit to show: empty, not a number, too many
    decimals. Sign and range checks are the caller's (they depend on context).
    """
    cleaned = text.strip()
    if "_" in cleaned:  # stands for spaces below; never typed in an amount
        raise MoneyError(NOT_A_NUMBER)
    for symbol in ("$", "€", "£", currency):
        cleaned = cleaned.replace(symbol, "")
    cleaned = _SPACES.sub("_", cleaned.strip())
    if not cleaned:
        raise MoneyError("Enter an amount.")
    match = _BODY.fullmatch(cleaned)
    if match is None:
        raise MoneyError(NOT_A_NUMBER)
    sign, body = match.groups()
    parts = _PARTS.findall(body)
    # Digits and separators alternate; a separator may open the number only as its
    # decimal mark (".50").
    if any(a in ".,_" and b in ".,_" for a, b in itertools.pairwise(parts)):
        raise MoneyError(NOT_A_NUMBER)
    point = _decimal_at(parts, locale)
    if (parts[0] in ".,_" and point != 0) or not any(p.isdigit() for p in parts):
        raise MoneyError(NOT_A_NUMBER)
    integer = parts if point is None else parts[:point]
    fraction = "" if point is None else "".join(parts[point + 1 :])
    whole = _digits_of(integer)
    if whole is None:
        raise MoneyError(NOT_A_NUMBER)
    digits = minor_digits(currency)
    if len(fraction) > digits:
        raise MoneyError(f"Use at most {digits} decimal places.")
    minor = int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")
    return Money(-minor if sign == "-" else minor, currency)


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
