"""Find card numbers where none may be: Luhn-valid runs of 13-19 digits."""

from __future__ import annotations

import re
from pathlib import Path

from shared.luhn import luhn_valid

_RUN = re.compile(rb"(?<![0-9])[0-9]{13,19}(?![0-9])")
# Hex digests (the audit chain's 64-character hashes) hold Luhn-valid digit runs by chance;
# a card number is never part of a 32+ character run of hex, so those runs are skipped.
_HEX_DIGEST = re.compile(rb"[0-9a-fA-F]{32,}")


def card_numbers_in(data: bytes) -> list[str]:
    """Every Luhn-valid 13-19 digit run that starts like a card (2-6: Mastercard, Visa, Amex...)."""
    found = []
    data = _HEX_DIGEST.sub(lambda m: b"#" * len(m.group()), data)
    for match in _RUN.finditer(data):
        digits = match.group().decode()
        if digits[0] in "23456" and luhn_valid(digits):
            found.append(digits[:6] + "…" + digits[-4:])
    return found


def card_numbers_in_files(paths: list[Path]) -> dict[str, list[str]]:
    hits = {}
    for path in paths:
        if path.is_file() and (found := card_numbers_in(path.read_bytes())):
            hits[str(path)] = found
    return hits
