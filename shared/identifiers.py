"""Human-readable identifiers: easy to read out on the phone, unambiguous to type."""

from __future__ import annotations

import re
import secrets

# Crockford's base32: no I, L, O, U, so nothing is mistaken for 1, 0 or V.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def transaction_id() -> str:
    """e.g. TX-4K7Q-2M9X-D4HJ (60 random bits)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"TX-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def receipt_number(year: int, sequence: int) -> str:
    return f"R-{year}-{sequence:06d}"


def support_reference(year: int, sequence: int) -> str:
    """A support request's reference, e.g. S-2026-000123 (gap-free per year)."""
    return f"S-{year}-{sequence:06d}"


# Six digits at least: the millionth receipt of a year and those after it have seven.
_RECEIPT = re.compile(r"R-\d{4}-\d{6,10}")
_TRANSACTION = re.compile(r"TX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
# What people mistype in Crockford base32 (transaction IDs avoid I, L, O, U).
_CROCKFORD = str.maketrans({"O": "0", "I": "1", "L": "1"})


class LookupInputError(ValueError):
    """The input cannot be a reference or a factor (its shape, not whether it exists)."""


def normalize_reference(text: str) -> str:
    """`r-2025-000042` -> `R-2025-000042`, `tx 4k7q 2m9x d4hj` -> `TX-4K7Q-2M9X-D4HJ`.

    Raises LookupInputError when `text` has the shape of neither.
    """
    cleaned = re.sub(r"[\s\-\u2010-\u2015]+", "-", text.strip().upper()).strip("-")
    if cleaned.startswith("TX"):
        body = cleaned[2:].replace("-", "").translate(_CROCKFORD)
        cleaned = f"TX-{body[:4]}-{body[4:8]}-{body[8:]}"
    if _RECEIPT.fullmatch(cleaned) or _TRANSACTION.fullmatch(cleaned):
        return cleaned
    raise LookupInputError(text)
