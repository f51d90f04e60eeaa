"""Card checks: Luhn, brands, expiry and security code, and the PAN scan itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.gateway.sandbox import SANDBOX_CARDS, Behaviour, CardData, CardError
from shared.gateway.sandbox.cards import (
    behaviour_of,
    brand_of,
    check_cvc,
    check_expiry,
    luhn_valid,
    read_expiry,
    read_pan,
)

TODAY = dt.date(2026, 11, 25)


def with_check_digit(body: str) -> str:
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("some check digit always works")


def test_every_test_card_is_luhn_valid_and_branded() -> None:
    for card in SANDBOX_CARDS:
        assert luhn_valid(card.number), card.number
        assert brand_of(card.number) == card.brand
        assert behaviour_of(card.number) is card.behaviour


@given(st.from_regex(r"[1-9][0-9]{11,17}", fullmatch=True))
def test_one_check_digit_fits_any_body(body: str) -> None:
    pan = with_check_digit(body)
    assert read_pan(pan) == pan
    wrong = pan[:-1] + str((int(pan[-1]) + 1) % 10)
    assert not luhn_valid(wrong)


def test_other_valid_numbers_are_unsupported() -> None:
    assert behaviour_of("4111111111111111") is Behaviour.UNSUPPORTED


@pytest.mark.parametrize(
    ("pan", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5105105105105100", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("3056930009020004", "unknown"),
    ],
)
def test_brands(pan: str, brand: str) -> None:
    assert brand_of(pan) == brand


@pytest.mark.parametrize(
    "typed", ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 "]
)
def test_people_type_spaces_and_dashes(typed: str) -> None:
    assert read_pan(typed) == "4242424242424242"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "4242424242424241",
        "424242424242",
        "42424242424242424242",
        "4242x42424242424",
        "４２４２４２４２４２４２４２４２",
    ],
)
def test_not_card_numbers(typed: str) -> None:
    with pytest.raises(CardError) as refused:
        read_pan(typed)
    assert (refused.value.field, refused.value.code) == ("number", "invalid_number")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("04/29", (4, 2029)), ("4/29", (4, 2029)), ("11 / 26", (11, 2026)), ("12/2030", (12, 2030))],
)
def test_expiry(typed: str, expected: tuple[int, int]) -> None:
    assert check_expiry(*read_expiry(typed), today=TODAY) == expected


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("10/26", "expired_card"),
        ("01/20", "expired_card"),
        ("00/29", "invalid_expiry"),
        ("13/29", "invalid_expiry"),
        ("12/99", "invalid_expiry"),
        ("1229", "invalid_expiry"),
        ("", "invalid_expiry"),
    ],
)
def test_bad_expiry(typed: str, code: str) -> None:
    with pytest.raises(CardError) as refused:
        check_expiry(*read_expiry(typed), today=TODAY)
    assert refused.value.code == code


@pytest.mark.parametrize("typed", ["123", "1234", " 123 "])
def test_cvc(typed: str) -> None:
    check_cvc(typed)


@pytest.mark.parametrize("typed", ["", "12", "12345", "12a", "١٢٣"])
def test_bad_cvc(typed: str) -> None:
    with pytest.raises(CardError):
        check_cvc(typed)


def test_card_data_never_shows_its_number() -> None:
    card = CardData.read("4242424242424242", 12, 2035, today=TODAY)
    assert "4242424242424242" not in repr(card)
    assert (card.brand, card.last4, card.behaviour) == ("visa", "4242", Behaviour.APPROVE)


def test_the_pan_scan_finds_a_pan(find_pans: Callable[[bytes], list[str]]) -> None:
    assert "4242424242424242" in find_pans(b"card=4242424242424242;")
    assert find_pans(b"last4=4242 ref=sbx_abc 2026-11-25 12:00:00.123456") == []
