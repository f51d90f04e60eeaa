"""Card numbers in free text: recognised in one place, masked as ************1234.

Card numbers must never be stored or logged (PCI DSS): they arrive in notes, query
strings, form fields echoed into errors, a gateway's exception text. `card_numbers` is
the one recogniser; `scrub` masks what it finds (staff notes, audit details),
`scrub_decoded` also through URL encoding (every log line), `scrub_value` through a
JSON-like value, and `holds_card_number` lets a form refuse one. The end-to-end PCI scan
uses the same recogniser.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Any, NamedTuple
from urllib.parse import unquote_plus

from shared.i18n import N_
from shared.luhn import luhn_valid

# 13–19 digits (in any script: full-width ones too), unbroken or in groups. Between two
# groups, up to three characters of whitespace (no-break spaces, tabs and line breaks
# included), dashes of any kind, dots, slashes, underscores, commas, and the invisible
# characters a paste brings along.
#
# Commas and mixed separators ("4111-1111 1111/1111", "4111,1111,1111,1111") are how a
# number typed in a hurry, or a query string's %2C, reaches us (issue 15), but they also
# join ordinary text: lists ("invoices 1234, 5678"), thousands ("1,234,567"), French
# decimals ("12,50"), a date beside a time. So a stretch holding a comma, or more than
# one kind of separator, counts only when grouped as cards are printed (fours, the last
# group shorter: 4-4-4-4, 4-4-4-1, 4-4-4-4-3; or Amex's and Diners' 4-6-5 and 4-6-4) and
# starting as issued cards do (3, 4, 5, 6, or Mastercard's 2221-2720: not a year like
# 2023). The price: a list of exactly four 4-digit numbers whose first starts so
# ("4102, 5678, 9012, 3456") passes Luhn one time in ten and is masked. A masked note can
# be reworded; a stored card number cannot be unstored.
_DASHES = r"\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
_INVISIBLE = r"\u00ad\u200b-\u200d\u2060\ufeff"
_SEPARATOR = rf"[\s{_DASHES}{_INVISIBLE}./_,\uff0c\uff0e\uff0f\uff3f]"
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
_FULL_WIDTH = str.maketrans("\uff0c\uff0e\uff0f\uff3f", ",./_")
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


def _printed_like_a_card(lengths: list[int]) -> bool:
    """Grouped as cards are printed: fours, the last shorter; or 4-6-5 and 4-6-4."""
    *body, last = lengths
    fours = len(lengths) >= 3 and all(n == 4 for n in body) and 1 <= last <= 4
    return fours or lengths in ([4, 6, 5], [4, 6, 4])


def _cards_in_run(run: str, offset: int) -> list[CardNumber]:
    groups = list(_GROUP.finditer(run))
    digits = [_ascii(group.group()) for group in groups]
    styles = [_style(run[a.end() : b.start()]) for a, b in itertools.pairwise(groups)]
    # Every stretch of whole groups that is a card, written the way cards are written:
    # - one separator style throughout, so a list of amounts ("12.50 30.00 45.25") or a date
    #   next to a time does not join into one number; and a dash, dot, slash or underscore
    #   between just two groups is a time stamp ("20261126-104500"), a decimal
    #   ("1764153900.123456") or an id, not a card;
    # - or, with commas or mixed separators, grouped as cards are printed (see above).
    stretches = []
    for first in range(len(groups)):
        number = ""
        for last in range(first, len(groups)):
            number += digits[last]
            if len(number) > 19:
                break
            if _is_card(number) and _written_as_a_card(digits, styles, first, last):
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


def _written_as_a_card(digits: list[str], styles: list[str], first: int, last: int) -> bool:
    between = set(styles[first:last])
    if len(between) <= 1 and not any("," in style for style in between):
        return last - first != 1 or between <= {" "}
    grouped = digits[first : last + 1]
    return _printed_like_a_card([len(group) for group in grouped]) and _issued(grouped[0])


def _issued(start: str) -> bool:
    """Starts as issued cards do: 3 (Amex, Diners, JCB), 4 (Visa), 5 and 2221-2720
    (Mastercard), 6 (Discover, UnionPay, Maestro)."""
    return start[0] in "3456" or 2221 <= int(start[:4]) <= 2720


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


def scrub_decoded(text: str) -> str:
    """`scrub`, seeing through URL encoding too: a query string or path holds
    "4111+1111+1111+1111" or "4111%201111%2F1111%2C1111" (even encoded twice), where the
    separators only appear once decoded. Text with a card number only once decoded comes
    back decoded and masked; any other text comes back as `scrub` gives it."""
    decoded = text
    for _ in range(3):  # %2520 is %20 encoded once more
        once = unquote_plus(decoded)
        if once == decoded:
            break
        decoded = once
    if decoded != text and card_numbers(decoded):
        return scrub(decoded)
    return scrub(text)


# What a field that must never hold a card number (a cheque number, an email address, a
# username, a name, a number looked up) says when it does: the value is refused, never
# kept, logged or counted under.
CARD_NUMBER_REFUSED = N_(
    "This looks like a card number. Card numbers are never typed here: enter something else."
)


def holds_card_number(text: str) -> bool:
    """Whether `text` (typed into a form, so already decoded) holds a card number."""
    return bool(card_numbers(text))


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
