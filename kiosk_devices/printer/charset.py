"""Map text to what a printer's code page can print.

A character the page lacks is spelled with characters it has rather than
printed as "?": "œ" becomes "oe" on CP858, "€" becomes "EUR" on a page without
it, typographic quotes, dashes and the ellipsis always become ASCII, and a letter
with an accent the page lacks loses the accent ("ő" → "o"). Only what has no
spelling at all (CJK, emoji, control bytes) becomes "?". The text may get
longer, so the encoder maps text before it wraps lines and pads columns.
"""

from __future__ import annotations

import unicodedata

from kiosk_devices.printer.profile import CodePage

# Typographic punctuation that locale data and translators produce, printed as
# its ASCII look-alike on every page: a thermal printer's "Windows-1252" table
# does not always fill 0x80-0x9F, where these sit. Babel's French group
# separator U+202F, a space, is handled with the other spaces below.
_ASCII_PUNCTUATION = {
    "\u2022": "*",  # the bullets of a masked card number: Visa •••• 4242
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u2039": "<",
    "\u203a": ">",
    "\u2026": "...",
    "\u2192": "->",
    "\u2190": "<-",
}

# Spellings for letters and signs, used only when the page lacks the character
# itself: CP1252 prints "œ" and "€", CP858 prints "€" but not "œ".
_SPELLINGS = {
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u00df": "ss",
    "\u00ab": '"',
    "\u00bb": '"',
    "\u20ac": "EUR",
    "\u2116": "No",
    "\u2122": "TM",
    "\u00a9": "(c)",
    "\u00ae": "(R)",
    "\u00b0": "o",
    # Letters with a stroke have no decomposition to strip an accent from.
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
}

_WHITESPACE_CONTROLS = "\t\n\r\x0b\x0c"


def _fits(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _printable_char(char: str, codec: str) -> str:
    char = _ASCII_PUNCTUATION.get(char, char)
    if len(char) > 1:
        return char
    if char in _WHITESPACE_CONTROLS or unicodedata.category(char) == "Zs":
        # No-break spaces print as spaces anyway; a plain one is safe on every page.
        return " "
    category = unicodedata.category(char)
    if category == "Cc":
        # A control byte in text would be read by the printer as a command.
        return "?"
    if category == "Cf":
        # Invisible formatting (soft hyphen, zero-width space, direction marks).
        return ""
    if _fits(char, codec):
        return char
    spelled = _SPELLINGS.get(char)
    if spelled is not None and _fits(spelled, codec):
        return spelled
    # Compatibility form without its accents: "ő" → "o", "ﬁ" → "fi", "Ÿ" → "Y".
    decomposed = "".join(
        part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
    )
    if (
        decomposed != char
        and all(unicodedata.category(part)[0] != "C" for part in decomposed)
        and _fits(decomposed, codec)
    ):
        return decomposed
    return "?"


def printable(text: str, code_page: CodePage) -> str:
    """`text` as the page can print it: every character kept, spelled out or '?'."""
    # NFC first so "e" + combining acute becomes the one character "é" the page has.
    text = unicodedata.normalize("NFC", text)
    codec = code_page.value
    return "".join(_printable_char(char, codec) for char in text)


def encode(text: str, code_page: CodePage) -> bytes:
    """Bytes for `text` on `code_page`, one byte per character of `printable(text)`."""
    return printable(text, code_page).encode(code_page.value)
