"""Card numbers in free text: recognised in one place, masked as ************1234.

Card numbers must never be stored or logged (PCI DSS): they arrive in notes, query
strings, form fields echoed into errors, a gateway's exception text. `card_numbers` is
the one recogniser; `scrub` masks what it finds (logs, staff notes), `scrub_value` does the
same through a JSON-like value. The end-to-end PCI scan uses the same recogniser.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Any, NamedTuple

from shared.luhn import luhn_valid

# 13–19 digits (in any script: full-width ones too), unbroken or in groups. Between two
# groups, up to three characters of whitespace (no-break spaces, tabs and line breaks
# included), dashes of any kind, dots, slashes, underscores, and the invisible characters a
# paste brings along. Not commas: they separate list items and thousands ("invoices 1234,
# 5678, 9012, 3456", "1,234,567") and are the decimal mark in French; nobody groups a card
# number with them, and a list joined by them is a 13–19 digit candidate that passes Luhn
# one time in ten.
_DASHES = r"\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
_INVISIBLE = r"\u00ad\u200b-\u200d\u2060\ufeff"
_SEPARATOR = rf"[\s{_DASHES}{_INVISIBLE}./_\uff0e\uff0f\uff3f]"
# A run is unbounded on purpose: the whole run is found first, then searched for card-length
# stretches of whole groups (see `_cards_in_run`). Separators and digits never overlap, so a
# run is matched in one pass, without backtracking.
_RUN = rf"(?<!\d)\d(?:{_SEPARATOR}{{0,3}}\d){{12,}}"
# A UUID or a hex digest holds digit runs that pass Luhn by chance (one random UUID in 350
# was masked in part); neither is ever a card, so each is stepped over whole.
_NOT_A_CARD = (
    r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32,})"
)
_ANY_RUN = re.compile(_RUN)
_CANDIDATE = re.compile(rf"(?P<skip>{_NOT_A_CARD})|{_RUN}")
_GROUP = re.compile(r"\d+")
_DASH = re.compile(f"[{_DASHES}]")
_HIDDEN = re.compile(f"[{_INVISIBLE}]")
_SPACE = re.compile(r"\s+")
_FULL_WIDTH = str.maketrans("\uff0e\uff0f\uff3f", "./_")
MASK = "*" * 12


class CardNumber(NamedTuple):
    start: int
    end: int
    digits: str  # in ASCII, whichever digits it was typed with


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _ascii(digits: str) -> str:
    return digits if digits.isascii() else "".join(str(unicodedata.decimal(d)) for d in digits)


def _style(separator: str) -> str:
    # Which space, dash or invisible character was typed does not matter; whether there is
    # space around a punctuation mark does ("4111 - 1111 - 1111 - 1111" is one number,
    # "2026-11-01 - 2026-11-30" two dates).
    plain = _HIDDEN.sub("", _DASH.sub("-", separator.translate(_FULL_WIDTH)))
    return _SPACE.sub(" ", plain) or " "


def _cards_in_run(run: str, offset: int) -> list[CardNumber]:
    groups = list(_GROUP.finditer(run))
    digits = [_ascii(group.group()) for group in groups]
    styles = [_style(run[a.end() : b.start()]) for a, b in itertools.pairwise(groups)]
    # Every stretch of whole groups that is a card, written the way cards are written:
    # - one separator style throughout, so a list of amounts ("12.50 30.00 45.25") or a date
    #   next to a time does not join into one number;
    # - a dash, dot, slash or underscore between just two groups is a time stamp
    #   ("20261126-104500"), a decimal ("1764153900.123456") or an id, not a card.
    stretches = []
    for first in range(len(groups)):
        number = ""
        for last in range(first, len(groups)):
            if last > first and styles[last - 1] != styles[first]:
                break
            number += digits[last]
            if len(number) > 19:
                break
            if _is_card(number) and (last - first != 1 or styles[first] == " "):
                stretches.append((last - first, first, last, number))
    # A card next to other numbers ("qty 12 4111 1111 1111 1111", two cards in a row): the
    # stretch of most groups wins (the leftmost of equals), then the longest of the rest
    # that does not overlap it, and so on.
    stretches.sort(key=lambda stretch: (-stretch[0], stretch[1]))
    taken: set[int] = set()
    found = []
    for _, first, last, number in stretches:
        if taken.isdisjoint(range(first, last + 1)):
            taken.update(range(first, last + 1))
            start, end = groups[first].start(), groups[last].end()
            found.append(CardNumber(offset + start, offset + end, number))
    return sorted(found)


def card_numbers(text: str) -> list[CardNumber]:
    """Every card number in `text`, where `scrub` would mask it, in order."""
    if _ANY_RUN.search(text) is None:  # most text: looking for UUIDs in it would be wasted
        return []
    return [
        card
        for match in _CANDIDATE.finditer(text)
        if match["skip"] is None
        for card in _cards_in_run(match.group(), match.start())
    ]


def scrub(text: str) -> str:
    """Mask every card number in `text` as ************1234 (the last four in ASCII digits)."""
    masked, end = [], 0
    for card in card_numbers(text):
        masked += [text[end : card.start], MASK + card.digits[-4:]]
        end = card.end
    return "".join(masked) + text[end:]


def scrub_value(value: Any) -> Any:
    """`scrub` through the strings and integers of a JSON-like value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        masked = scrub(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {str(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    return value
