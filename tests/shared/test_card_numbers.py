"""Card numbers recognised and masked wherever they are typed, and only card numbers."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.card_numbers import MASK, holds_card_number, scrub, scrub_decoded
from tests.support.pci import card_numbers_in, card_numbers_in_files

VISA = "4111111111111111"
MASKED_VISA = "************1111"
ORDER_ID = "1234567890123456"  # 16 digits that fail the Luhn check


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VISA, MASKED_VISA),
        ("4111 1111 1111 1111", MASKED_VISA),
        ("4111-1111-1111-1111", MASKED_VISA),
        ("card 5555555555554444 declined", "card ************4444 declined"),
        ("amex 378282246310005.", "amex ************0005."),
        ("ref:4111111111111111;", f"ref:{MASKED_VISA};"),
        ("two 4111 1111 1111 1111 5555 5555 5555 4444", f"two {MASKED_VISA} ************4444"),
        ("qty 12 4111 1111 1111 1111", f"qty 12 {MASKED_VISA}"),
        (f"order {ORDER_ID}", f"order {ORDER_ID}"),
        ("phone 613-555-0199", "phone 613-555-0199"),
        ("paid 125000 on 2024-05-01", "paid 125000 on 2024-05-01"),
        ("hash 41111111111111111111111", "hash 41111111111111111111111"),
    ],
)
def test_scrub_masks_card_numbers_only(text: str, expected: str) -> None:
    assert scrub(text) == expected


# What a card number may be typed with between its groups, visible or not.
SEPARATORS = [
    "  ",
    " - ",
    ".",
    "\u00a0",  # no-break space
    "\u202f",  # narrow no-break space (French thousands)
    " \u00a0 ",
    "\n",
    "\r\n",
    "\t",
    "/",
    "_",
    "\u2010",  # hyphen
    "\u2011",  # non-breaking hyphen
    "\u2012",  # figure dash
    "\u2013",  # en dash
    "\u2014",  # em dash
    "\u2015",  # horizontal bar
    "\u2212",  # minus sign
    "\u3000",  # ideographic space
    "\uff0d",  # full-width hyphen
    "\u200b",  # zero-width space
]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_a_card_grouped_with_any_separator_is_masked(separator: str) -> None:
    card = separator.join(["4012", "8888", "8888", "1881"])

    assert scrub(f"Caller read {card} twice.") == "Caller read ************1881 twice."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Full-width and Arabic-Indic digits are still the card number; the mask shows ASCII.
        (
            "\uff14\uff10\uff11\uff12 \uff18\uff18\uff18\uff18 \uff18\uff18\uff18\uff18 "
            "\uff11\uff18\uff18\uff11",
            MASK + "1881",
        ),
        (
            "\uff14\uff10\uff11\uff12\uff18\uff18\uff18\uff18\uff18\uff18\uff18\uff18"
            "\uff11\uff18\uff18\uff11",
            MASK + "1881",
        ),
        (
            "\uff14\uff11\uff11\uff11\uff0d\uff11\uff11\uff11\uff11\uff0d"
            "\uff11\uff11\uff11\uff11\uff0d\uff11\uff11\uff11\uff11",
            MASKED_VISA,
        ),
        (
            "\u0664\u0660\u0661\u0662 \u0668\u0668\u0668\u0668 \u0668\u0668\u0668\u0668 "
            "\u0661\u0668\u0668\u0661",
            MASK + "1881",
        ),
        ("amex 3782.822463.10005", "amex ************0005"),
        ("digit by digit: 4 0 1 2 8 8 8 8 8 8 8 8 1 8 8 1.", f"digit by digit: {MASK}1881."),
        ("4111 1111\n1111 1111 wrapped", f"{MASKED_VISA} wrapped"),
        ("Card 4111-1111-1111-1111 2026-11-26", f"Card {MASKED_VISA} 2026-11-26"),
        ("on 2026-11-26: 4111.1111.1111.1111, $12.50", f"on 2026-11-26: {MASKED_VISA}, $12.50"),
        ("a 4111 - 1111 - 1111 - 1111 b 5555_5555_5555_4444 c", f"a {MASKED_VISA} b {MASK}4444 c"),
    ],
)
def test_a_card_in_other_digits_or_shapes_is_masked(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "4111-1111 1111/1111",
        "4111 1111-1111 1111",
        "4111,1111,1111,1111",
        "4111, 1111, 1111, 1111",
        "4111\uff0c1111\uff0c1111\uff0c1111",
        "4111.1111 1111-1111",
        "3782 822463-10005",
        "3782,822463,10005",
        "5555-5555,5555 4444",
        "2223 0000/4841 0010",
    ],
)
def test_a_card_with_mixed_separators_or_commas_is_masked(typed: str) -> None:
    """Issue 15: notes holding these were stored unmasked."""
    assert scrub(f"note: {typed}.") == f"note: {MASK}{typed[-4:]}."
    assert holds_card_number(typed)


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        ("GET /search?q=4111+1111+1111+1111 HTTP/1.1", f"GET /search?q={MASKED_VISA} HTTP/1.1"),
        ("q=4111%201111%201111%201111&x=1", f"q={MASKED_VISA}&x=1"),
        ("/find/4111%2F1111%2F1111%2F1111", f"/find/{MASKED_VISA}"),
        ("q=4111%2C1111%2C1111%2C1111", f"q={MASKED_VISA}"),
        ("q=4111%2520%2B1111", "q=4111%2520%2B1111"),
        ("q=4111%25201111%25201111%25201111", f"q={MASKED_VISA}"),
        ("q=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31", f"q={MASKED_VISA}"),
        ("GET /search?q=emilie+tremblay HTTP/1.1", "GET /search?q=emilie+tremblay HTTP/1.1"),
        ("call +1 613 555 0100", "call +1 613 555 0100"),
    ],
)
def test_logged_urls_are_scrubbed_once_decoded(logged: str, expected: str) -> None:
    assert scrub_decoded(logged) == expected


# Ordinary text with numbers in it. In each, joining the digits across its separators (any
# of them, mixed) gives a Luhn-valid 13-19 digit number, which is why it is here.
NOT_CARDS = [
    "Paid 125.00 on 2026-11-26 at 10:45, ref 123456",
    "Call +1 (613) 555-0100 or 613-555-0101",
    "Call 613 555 0100 / 613 555 0106",
    "Away 2026-11-01 - 2026-11-05",
    "Paid 12.50 30.00 45.25 100.03 by cheque",
    "Refunds 1,250.00, 3,400.00, 900.25",
    "Amount 1\u00a0234\u00a0567,89\u00a0$ on 2026-11-26",
    "export payments-20261126-104508.csv",
    "started 1764153900.123457",
    "from 192.168.100.200 10.20.30.2",
    "2026-11-26 10:45:00,123 INFO payment T-2026-000123 captured",
    '{"time": "2026-11-26T10:45:00.123+00:00", "message": "batch B-20261126-001 closed"}',
    "key d1230e47-1496-4118-9945-3d71f2a0ddef",
    "key 452ff444-7065-4893-8277-0952e9a8227e",
    "file 20261126T104500123456-04ab12cd.eml",
    "hash 9f86d0814242424242424242" + "2d4b0e3a3b7c8f1ea0b1c2d3e4f5a6b7c8d9e0f1",
    # With commas or mixed separators, not grouped or starting as cards are.
    "Taxes for 2023, 2024, 2025, 2026 are paid",
    "Amounts 1 234,56, 2 345,67 and 3 456,02",
    "Total 1,234,567,890,003 minor units",
    "Paid 12,50, 30,00, 45,25 on 2026-11-26",
    "on 2026-11-26, 10:45, 2026-11-27 10:05",
    "Refunds 4 100,00, 5 200,00, 6 300,00",
    "tel 613 555 0100, 613 555 0106, 819 555 0199",
]


@pytest.mark.parametrize("text", NOT_CARDS)
def test_ordinary_numbers_are_left_as_typed(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 " * 5_000, "1 " * 5_000),  # 13-19 ones never pass Luhn
        ("1-" * 5_000, "1-" * 5_000),
        ("\u00a01" * 5_000, "\u00a01" * 5_000),
        ("12.50 " * 2_000, "12.50 " * 2_000),
        ("1234567890-" * 1_000, "1234567890-" * 1_000),
        ("9" * 10_000, "9" * 10_000),
        ("4111 1111 1111 1111 " * 500, f"{MASKED_VISA} " * 500),
    ],
    ids=["spaced-ones", "dashed-ones", "nbsp-ones", "amounts", "long-groups", "unbroken", "cards"],
)
def test_a_long_run_of_digits_and_separators_is_scrubbed_in_one_pass(
    text: str, expected: str
) -> None:
    assert scrub(text) == expected


CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011000990139424"]


@given(
    card=st.sampled_from(CARDS),
    separator=st.sampled_from(["", " ", *SEPARATORS]),
    before=st.text(st.characters(exclude_categories=["Nd"]), max_size=20),
    after=st.text(st.characters(exclude_categories=["Nd"]), max_size=20),
)
def test_a_card_is_masked_whatever_surrounds_it(
    card: str, separator: str, before: str, after: str
) -> None:
    # Any text without digits of its own: letters, separators, symbols, other scripts.
    groups = [card[i : i + 4] for i in range(0, len(card), 4)]
    masked = scrub(f"{before} {separator.join(groups)} {after}")

    assert masked == f"{before} {MASK}{card[-4:]} {after}"


def test_the_pci_scan_finds_what_scrub_masks(tmp_path: Path) -> None:
    typed = "Caller read 4242 - 4242 - 4242 - 4242 and 4111\u00a01111\u00a01111\u00a01111"
    assert card_numbers_in(typed.encode()) == ["424242\u20264242", "411111\u20261111"]
    assert card_numbers_in(scrub(typed).encode()) == []
    log = tmp_path / "server.log"
    log.write_text(typed, encoding="utf-8")
    database = tmp_path / "paydesk.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, at TEXT, text TEXT, pan INTEGER)")
        # Values are stored back to back: a separator scan of the raw page would join the
        # time stamp's microseconds to the next value; the values are scanned one by one.
        db.execute(
            "INSERT INTO note (at, text, pan) VALUES (?, ?, ?)",
            ("2026-11-26 10:54:00.724073", "2026-11-26 ref 4111_1111_1111_1111", None),
        )
        db.execute(
            "INSERT INTO note (at, text, pan) VALUES (?, ?, ?)", ("x", "ok", 5555555555554444)
        )
        db.commit()
        # Still in the write-ahead log: the scan reads it too.
        found = card_numbers_in_files([log, database])

    assert found == {
        str(log): ["424242\u20264242", "411111\u20261111"],
        str(database): ["411111\u20261111", "555555\u20264444"],
    }
