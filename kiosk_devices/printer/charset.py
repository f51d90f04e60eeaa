"""Map text to what a printer's code page can print, one character for one.

Layout counts characters to align columns, so every mapping keeps the length:
a character the page lacks becomes a single '?', never an error and never a
multi-character spelling.
"""

from __future__ import annotations

import unicodedata

from kiosk_devices.printer.profile import CodePage

# Same-width look-alikes for punctuation that locale data and translators
# produce but the DOS/Windows pages lack: Babel formats French amounts with
# U+202F as the group separator, which would otherwise print "1?234,50 €".
_LOOKALIKES = {
    "\u2022": "*",  # the bullets of a masked card number: Visa •••• 4242
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
}

_WHITESPACE_CONTROLS = "\t\n\r\x0b\x0c"


def _printable_char(char: str, codec: str) -> str:
    char = _LOOKALIKES.get(char, char)
    if char in _WHITESPACE_CONTROLS or unicodedata.category(char) == "Zs":
        # No-break spaces print as spaces anyway; a plain one is safe on every page.
        return " "
    if unicodedata.category(char) == "Cc":
        # A control byte in text would be read by the printer as a command.
        return "?"
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return "?"
    return char


def printable(text: str, code_page: CodePage) -> str:
    """`text` with every character the page cannot print replaced, same length after NFC."""
    # NFC first so "e" + combining acute becomes the one character "é" the page has.
    text = unicodedata.normalize("NFC", text)
    codec = code_page.value
    return "".join(_printable_char(char, codec) for char in text)


def encode(text: str, code_page: CodePage) -> bytes:
    """Bytes for `text` on `code_page`, one byte per character."""
    return printable(text, code_page).encode(code_page.value)
