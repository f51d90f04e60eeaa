"""Human-readable identifiers: easy to read out on the phone, unambiguous to type."""

from __future__ import annotations

import secrets

# Crockford's base32: no I, L, O, U, so nothing is mistaken for 1, 0 or V.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def transaction_id() -> str:
    """e.g. TX-4K7Q-2M9X-D4HJ (60 random bits)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"TX-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def receipt_number(year: int, sequence: int) -> str:
    return f"R-{year}-{sequence:06d}"
