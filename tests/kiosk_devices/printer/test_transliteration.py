"""Every character the kiosk prints (fr and es catalogs, demo names) comes out right.

The texts are read from the committed catalogs and demo data each run, so a new
translation with a character the code page lacks fails here, not on paper.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk_devices.printer import CodePage, EscPosPrinter, PrinterProfile
from kiosk_devices.printer.charset import printable
from paydesk import demo_data
from shared.receipts.layout import ReceiptLayout, Text

from .transports import PtyPrinter

LOCALES = Path(__file__).resolve().parents[3] / "locales"
# Letters of French and Spanish, upper and lower case, and their signs.
ALPHABETS = (
    "àâæçéèêëîïôœùûüÿ ÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ « » ° n° € áéíóúüñ ÁÉÍÓÚÜÑ ¿ ¡ ª º ‘ ’ “ ” ‚ „ – — … •"
)


def catalog_texts(locale: str) -> list[str]:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    texts: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts.extend(string for string in strings if string)
    return texts


def demo_texts() -> list[str]:
    translated = [name for pair in demo_data.TRANSLATED.items() for name in (pair[0], *pair[1])]
    return [*demo_data.FIRST, *demo_data.LAST, *demo_data.STREETS, *translated]


def every_text() -> list[str]:
    return [*catalog_texts("fr"), *catalog_texts("es"), *demo_texts(), ALPHABETS]


def test_the_catalogs_are_read() -> None:
    # Guards the tests below against passing on an empty catalog.
    assert len(catalog_texts("fr")) > 500
    assert len(catalog_texts("es")) > 500
    assert "Émilie" in demo_texts()


@pytest.mark.parametrize("page", list(CodePage))
def test_every_character_of_the_catalogs_and_demo_names_prints_without_question_marks(
    page: CodePage,
) -> None:
    characters = sorted({char for text in every_text() for char in text} - {"?"})
    missing = {char: printable(char, page) for char in characters if "?" in printable(char, page)}
    assert missing == {}
    # What the page has prints as itself: accents are never stripped needlessly.
    for char in characters:
        if char.isalpha() and char.encode(page.value, "ignore"):
            assert printable(char, page) == char


@pytest.mark.parametrize(
    ("text", "cp858", "cp1252"),
    [
        ("Un cœur d’œuvre", "Un coeur d'oeuvre", "Un cœur d'œuvre"),
        ("ŒUVRE", "OEUVRE", "ŒUVRE"),
        ("« Reçu » — 45,00 €…", "« Reçu » - 45,00 €...", "« Reçu » - 45,00 €..."),
        ("“Sí” – ‘no’", "\"Sí\" - 'no'", "\"Sí\" - 'no'"),
        ("Łódź Ÿ ő", "Lódz Y o", "Lódz Ÿ o"),
    ],
)
def test_missing_characters_are_spelled_out(text: str, cp858: str, cp1252: str) -> None:
    assert printable(text, CodePage.CP858) == cp858
    assert printable(text, CodePage.CP1252) == cp1252


@pytest.mark.parametrize("page", list(CodePage))
def test_the_printer_prints_every_catalog_and_demo_text_without_question_marks(
    pty_printer: Callable[..., PtyPrinter],
    escpos_driver: Callable[..., EscPosPrinter],
    page: CodePage,
) -> None:
    texts = every_text()
    device = pty_printer(48)
    profile = PrinterProfile(width=48, code_page=page)
    layout = ReceiptLayout(tuple(Text(text) for text in texts))
    escpos_driver(device.path, profile, print_timeout=30.0).print_receipt(layout)

    paper = "\n".join(device.emulator.page())
    assert paper.count("?") == sum(text.count("?") for text in texts)
    assert device.emulator.auto_wraps == 0
    expected_oe = "œ" if page is CodePage.CP1252 else "oe"
    assert ("àâæçéèêëîïô" + expected_oe + "ùûüÿ") in paper
