from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import Money, MoneyError, allocate, parse_money

owed_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12)


@given(owed_lists, st.data())
def test_allocation_sums_to_the_payment_and_respects_each_item(
    owed: list[int], data: st.DataObject
) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(owed)))
    parts = allocate(total, owed)
    assert sum(parts) == total
    assert all(0 <= part <= limit for part, limit in zip(parts, owed, strict=True))


@given(owed_lists, st.integers(min_value=1, max_value=10**6))
def test_paying_more_than_owed_is_refused(owed: list[int], extra: int) -> None:
    with pytest.raises(MoneyError):
        allocate(sum(owed) + extra, owed)


def test_largest_remainder_gives_the_odd_cent_to_the_biggest_share() -> None:
    assert allocate(100, [50, 30, 40]) == [42, 25, 33]
    assert allocate(7, [3, 3, 3]) == [3, 2, 2]
    assert allocate(90, [30, 30, 30]) == [30, 30, 30]


@pytest.mark.parametrize(
    ("typed", "locale", "minor"),
    [
        ("1,234.56", "en", 123456),
        ("1234.5", "en", 123450),
        ("1 234,56", "fr", 123456),
        ("1\u202f234,56", "fr", 123456),
        ("0,05", "fr", 5),
        ("1.234,56", "es", 123456),
        ("$12", "en", 1200),
    ],
)
def test_amounts_are_read_the_way_each_locale_writes_them(
    typed: str, locale: str, minor: int
) -> None:
    assert parse_money(typed, "CAD", locale) == Money(minor, "CAD")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter an amount."),
        ("abc", "Enter the amount as a number, like 125.50."),
        ("1e5", "Enter the amount as a number, like 125.50."),
        ("12.345", "Use at most 2 decimal places."),
        ("1,2,3", "Enter the amount as a number, like 125.50."),
    ],
)
def test_bad_amounts_get_a_clear_reason(typed: str, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        parse_money(typed, "CAD", "en")


def test_formatting_follows_the_locale() -> None:
    amount = Money(123456, "CAD")
    assert amount.format("en") == "$1,234.56"
    assert amount.format("fr") == "1\xa0234,56\xa0$"
    assert amount.plain() == "1234.56"


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(MoneyError):
        Money(12.5, "CAD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1, "CAD") + Money(1, "USD")


@given(st.integers(min_value=0, max_value=10**12))
def test_plain_round_trips(minor: int) -> None:
    assert parse_money(Money(minor, "CAD").plain(), "CAD", "en").minor == minor
