"""Terminal-side transaction data and how it fills a card's data object list (PDOL)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date

__all__ = ["DEFAULT_TTQ", "TerminalData", "build_dol_data"]

# Terminal Transaction Qualifiers (9F66): EMV mode + contact chip supported, online PIN
# and signature supported, online cryptogram required (a kiosk always goes online).
DEFAULT_TTQ = bytes.fromhex("36008000")


def _bcd(value: int, length: int) -> bytes:
    """Right-aligned packed BCD of ``value`` in ``length`` bytes (EMV format n)."""
    digits = str(value).rjust(length * 2, "0")
    if len(digits) > length * 2:
        raise ValueError("value does not fit")
    return bytes.fromhex(digits)


def _unpredictable_number() -> bytes:
    return secrets.token_bytes(4)


@dataclass(frozen=True, slots=True)
class TerminalData:
    """What the terminal tells the card about the transaction.

    ``amount_minor`` is in minor units (cents); currency and country are ISO 4217 /
    ISO 3166-1 numeric codes (978 = EUR, 250 = France).  A fresh 4-byte unpredictable
    number is generated per instance, so build one ``TerminalData`` per read.
    """

    amount_minor: int
    currency_numeric: int
    country_numeric: int
    transaction_date: date
    transaction_type: int = 0x00  # 00 = goods and services (EMV tag 9C)
    unpredictable_number: bytes = field(default_factory=_unpredictable_number, repr=False)
    ttq: bytes = DEFAULT_TTQ

    def __post_init__(self) -> None:
        if not 0 <= self.amount_minor <= 999_999_999_999:
            raise ValueError("amount_minor must fit in 12 digits")
        if not 0 <= self.currency_numeric <= 999:
            raise ValueError("currency_numeric must be an ISO 4217 numeric code")
        if not 0 <= self.country_numeric <= 999:
            raise ValueError("country_numeric must be an ISO 3166-1 numeric code")
        if not 0 <= self.transaction_type <= 99:
            raise ValueError("transaction_type must be two decimal digits")
        if len(self.unpredictable_number) != 4:
            raise ValueError("unpredictable_number must be 4 bytes")
        if len(self.ttq) != 4:
            raise ValueError("ttq must be 4 bytes")

    def data_objects(self) -> dict[int, tuple[bytes, bool]]:
        """Terminal data objects by tag: (natural-length value, is EMV numeric format)."""
        d = self.transaction_date
        return {
            0x9F02: (_bcd(self.amount_minor, 6), True),  # Amount, Authorised
            0x9F03: (_bcd(0, 6), True),  # Amount, Other (no cashback)
            0x5F2A: (_bcd(self.currency_numeric, 2), True),  # Transaction Currency Code
            0x9F1A: (_bcd(self.country_numeric, 2), True),  # Terminal Country Code
            0x9A: (_bcd(d.year % 100 * 10000 + d.month * 100 + d.day, 3), True),  # YYMMDD
            0x9C: (_bcd(self.transaction_type, 1), True),  # Transaction Type
            0x9F37: (bytes(self.unpredictable_number), False),  # Unpredictable Number
            0x9F66: (bytes(self.ttq), False),  # Terminal Transaction Qualifiers
            0x95: (bytes(5), False),  # TVR: nothing has gone wrong yet
        }


def build_dol_data(dol: list[tuple[int, int]], terminal: TerminalData) -> bytes:
    """Concatenate values for a DOL, sized as the card asked (EMV Book 3, 5.4).

    Numeric values are left-padded with zeros or have leading bytes cut; other values
    are right-padded or cut on the right.  Tags the terminal does not know are filled
    with zeros of the requested length, which the card must accept.
    """
    known = terminal.data_objects()
    out = bytearray()
    for tag, length in dol:
        entry = known.get(tag)
        if length == 0:
            continue
        if entry is None:
            out += bytes(length)
            continue
        value, numeric = entry
        if len(value) == length:
            out += value
        elif numeric:
            out += value[-length:] if len(value) > length else bytes(length - len(value)) + value
        else:
            out += value[:length] if len(value) > length else value + bytes(length - len(value))
    return bytes(out)
