"""The Luhn check digit test that every card number passes (and most other digit runs fail)."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    # Not `isdigit`: it accepts superscripts ("²"), on which `int` fails. Decimal digits of
    # any script (full-width, Arabic-Indic) are what `int` reads.
    if not digits.isdecimal():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0
