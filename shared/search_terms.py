"""What a customer can be found by: the words of their name, their email and their phone.

Each customer gets a few short search terms, written beside the customer
(`customer_search_terms`) and folded the same way as what staff type, so a search is a
B-tree range scan ("terms starting with ...") on SQLite and PostgreSQL alike:

- every word of the name, accent-folded and lower-cased (`Émilie Tremblay-Roy` ->
  `emilie`, `tremblay`, `roy`);
- the email, lower-cased, whole and its domain (`emilie@example.org`, `example.org`);
- the phone's digits, whole and the last 10, 7 and 4 (`+1 (613) 555-0199` ->
  `16135550199`, `6135550199`, `5550199`, `0199`), so a number typed with or without
  the country or area code is found.

Staff input becomes words the same way (`query_words`); a customer matches when every
word (in one of its `word_forms`) is the start of one of their terms. Pure functions
only: the models and the migrations use them too.
"""

from __future__ import annotations

import re
import unicodedata

# A term longer than this is cut (an email can be 320 characters; nobody types that much).
TERM_LENGTH = 100
PHONE_SUFFIXES = (10, 7, 4)

_WORD = re.compile(r"[^\W_]+")
_PHONE_TYPED = re.compile(r"[\d\s()+\-.]+")
_MIN_PHONE_DIGITS = 3
# A North American number typed with its country code: 1 and the 10-digit national number.
_NANP_WITH_COUNTRY_CODE = re.compile(r"1[0-9]{10}")


def fold(text: str | None) -> str | None:
    """Lowercase without diacritics: `Émilie` -> `emilie`."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _is_control(char: str) -> bool:
    # C0/C1 controls and lone surrogates, but not what a text box sends (tab, line breaks).
    return unicodedata.category(char) in {"Cc", "Cs"} and char not in "\t\n\r"


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a character nobody types (NUL, BEL...): a paste or a hand-made
    URL. PostgreSQL refuses NUL in a string, so such text must never reach a query."""
    return any(_is_control(c) for c in text)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


def phone_terms(phone: str | None) -> set[str]:
    digits = _digits(phone or "")
    if not digits:
        return set()
    return {digits} | {digits[-n:] for n in PHONE_SUFFIXES if len(digits) > n}


def email_terms(email: str | None) -> set[str]:
    address = (fold(email) or "").strip()
    if not address:
        return set()
    domain = address.rpartition("@")[2]
    return {address, domain} if domain and domain != address else {address}


def customer_terms(name: str | None, email: str | None, phone: str | None) -> set[str]:
    """Every term one customer can be found by (see the module docstring)."""
    terms = set(_WORD.findall(fold(name) or "")) | email_terms(email) | phone_terms(phone)
    return {term[:TERM_LENGTH] for term in terms}


def query_words(text: str) -> list[str]:
    """What was typed, as words that must each start one of a customer's terms.

    A phone number typed with spaces, dashes or brackets is one word of digits. A piece
    holding `@` or `.` is kept whole (the start of an email, or a domain); anything else
    is split into words of letters and digits, folded as names are. A control character
    separates words, like a space.
    """
    stripped = " ".join("".join(" " if _is_control(c) else c for c in text).split())
    digits = _digits(stripped)
    if _PHONE_TYPED.fullmatch(stripped) and len(digits) >= _MIN_PHONE_DIGITS:
        return [digits]
    words: list[str] = []
    for piece in (fold(stripped) or "").split(" "):
        piece = piece.strip("@.-'")
        if "@" in piece or "." in piece:
            words.append(piece)
        else:
            words += _WORD.findall(piece)
    return list(dict.fromkeys(word[:TERM_LENGTH] for word in words if word))


def word_forms(word: str) -> tuple[str, ...]:
    """The forms of a typed word, any of which may start a term.

    A North American number typed with its country code (`+1 613 555 0199`) is also
    the national number: a phone stored without the 1 (`613 555 0199`) has no term
    starting `1613...`, only `6135550199`.
    """
    if _NANP_WITH_COUNTRY_CODE.fullmatch(word):
        return (word, word[1:])
    return (word,)


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string starting with `prefix`, in code point order
    (`emil` -> `emim`); None when there is none."""
    for cut in range(len(prefix), 0, -1):
        code = ord(prefix[cut - 1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            return prefix[: cut - 1] + chr(code)
    return None
