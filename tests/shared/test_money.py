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
        # What the issue saw refused: the Spanish message's own example, and its kin.
        ("10.00", "es", 1000),
        ("125.50", "es", 12550),
        ("125.50", "fr", 12550),
        ("1,234.56", "es", 123456),
        ("1234,56", "en", 123456),
        ("1.234,56", "en", 123456),
        ("10,5", "en", 1050),
        (".50", "en", 50),
        ("1'234.50", "en", 123450),
        # One separator and three digits: the locale's decimal mark or its grouping.
        ("1,234", "en", 123400),
        ("1.234", "es", 123400),
        ("1.234", "fr", 123400),
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
        ("12 34", "Enter the amount as a number, like 125.50."),
        ("1,234.5.6", "Enter the amount as a number, like 125.50."),
        ("1_234", "Enter the amount as a number, like 125.50."),
        ("1.234,567", "Use at most 2 decimal places."),
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


@pytest.mark.parametrize(("typed", "locale"), [("1,234", "fr"), ("1,234", "es"), ("1.234", "en")])
def test_a_lone_mark_before_three_digits_is_the_locales_decimal_mark(
    typed: str, locale: str
) -> None:
    with pytest.raises(MoneyError, match="at most 2 decimal places"):
        parse_money(typed, "CAD", locale)


# -- property tests: whatever way a person writes an amount, it reads back ----------------

LOCALES = ("en", "fr", "es")
amounts = st.integers(min_value=0, max_value=10**13)


def _written(minor: int, grouping: str, mark: str) -> str:
    whole, cents = divmod(minor, 100)
    return f"{whole:,}".replace(",", grouping) + f"{mark}{cents:02d}"


# How people write amounts: the locales' own ways, and those their keyboards suggest.
STYLES = [
    (",", "."),  # English: 1,234.56
    ("\u00a0", ","),  # French: 1 234,56
    ("\u202f", ","),  # French, narrow no-break space
    (" ", ","),  # French as typed on a keyboard
    (".", ","),  # Spanish: 1.234,56
    ("", "."),  # 1234.56 (no grouping)
    ("", ","),  # 1234,56
    (" ", "."),  # 1 234.56
]


@pytest.mark.parametrize("locale", LOCALES)
@given(minor=amounts, style=st.sampled_from(STYLES))
def test_every_way_of_writing_an_amount_reads_back_in_every_locale(
    locale: str, minor: int, style: tuple[str, str]
) -> None:
    assert parse_money(_written(minor, *style), "CAD", locale).minor == minor


@pytest.mark.parametrize("locale", LOCALES)
@given(minor=amounts)
def test_an_amount_as_the_locale_displays_it_reads_back(locale: str, minor: int) -> None:
    assert parse_money(Money(minor, "CAD").format(locale), "CAD", locale).minor == minor


@pytest.mark.parametrize("locale", LOCALES)
@given(whole=st.integers(min_value=0, max_value=10**11), mark=st.sampled_from(".,"))
def test_a_single_mark_before_one_or_two_digits_is_the_decimal_mark(
    locale: str, whole: int, mark: str
) -> None:
    assert parse_money(f"{whole}{mark}5", "CAD", locale).minor == whole * 100 + 50
    assert parse_money(f"{whole}{mark}07", "CAD", locale).minor == whole * 100 + 7


@pytest.mark.parametrize("locale", LOCALES)
@given(typed=st.text(alphabet="0123456789.,' -+$\u00a0\u202fe_", max_size=16))
def test_anything_typed_is_an_amount_or_a_clear_refusal(locale: str, typed: str) -> None:
    reasons = {
        "Enter an amount.",
        "Enter the amount as a number, like 125.50.",
        "Use at most 2 decimal places.",
    }
    try:
        parse_money(typed, "CAD", locale)
    except MoneyError as exc:
        refused = str(exc)
    else:
        refused = None
    assert refused is None or refused in reasons
