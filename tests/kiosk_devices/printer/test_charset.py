import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk_devices.printer.charset import encode, printable
from kiosk_devices.printer.profile import CodePage

ACCENTS = "é è à ç ñ ¿ ¡ É Ñ ü ô €"


@pytest.mark.parametrize("page", list(CodePage))
def test_accents_survive_the_round_trip(page: CodePage) -> None:
    assert encode(ACCENTS, page).decode(page.value) == ACCENTS


def test_bytes_are_the_code_page_positions() -> None:
    assert encode("é€", CodePage.CP858) == b"\x82\xd5"
    assert encode("é€", CodePage.CP1252) == b"\xe9\x80"


def test_characters_the_page_lacks_are_spelled_and_only_the_unspellable_become_question_marks() -> (
    None
):
    # "œ" is in Windows-1252 but not in the DOS page; "ő" and CJK are in neither.
    assert printable("cœur ő 中", CodePage.CP858) == "coeur o ?"
    assert printable("cœur ő 中", CodePage.CP1252) == "cœur o ?"


def test_combining_accents_are_composed_first() -> None:
    assert printable("e\u0301te\u0301", CodePage.CP858) == "été"


def test_locale_spaces_and_punctuation_print_as_look_alikes() -> None:
    # Babel: French group separator U+202F, no-break space before the currency.
    assert printable("1\u202f234,50\u00a0€", CodePage.CP858) == "1 234,50 €"
    assert printable("l\u2019accès \u2013 \u201cok\u201d", CodePage.CP858) == 'l\'accès - "ok"'


def test_control_characters_never_reach_the_printer_as_commands() -> None:
    assert printable("a\x1b@b\x10\x04\x01c", CodePage.CP858) == "a?@b???c"
    assert printable("a\tb\nc", CodePage.CP1252) == "a b c"


@given(st.text())
def test_mapping_never_fails_and_gives_one_byte_per_printed_character(text: str) -> None:
    for page in CodePage:
        mapped = printable(text, page)
        assert encode(text, page).decode(page.value) == mapped
        assert all(byte >= 0x20 for byte in encode(text, page))
