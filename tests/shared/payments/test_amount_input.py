"""Reading typed amounts: every example a message gives is one the field accepts."""

from __future__ import annotations

import re

import pytest

from shared.i18n import LOCALES, translations
from shared.money import Money
from shared.payments.amount_input import read_cash_tendered, read_part_payment

EXAMPLE = re.compile(r"(?<![\d.,])\d+[.,]\d{2}(?![\d])")
# Every message that shows an amount as an example of what to type.
MESSAGES_WITH_EXAMPLES = [
    "Enter the amount as a number, like 125.50.",
    "Enter the cash tendered, like 50.00.",
    "Enter the amount you paid, like 125.50.",
    "The total you paid, for example 125.50.",
]


def _examples(locale: str) -> list[str]:
    found = []
    for message in MESSAGES_WITH_EXAMPLES:
        translated = translations(locale).gettext(message)
        assert translated != message or locale == "en", f"{locale}: {message!r} untranslated"
        found += EXAMPLE.findall(translated)
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_every_example_in_a_message_is_accepted(locale: str) -> None:
    examples = _examples(locale)
    assert len(examples) >= len(MESSAGES_WITH_EXAMPLES)
    owing = Money(1_000_000, "CAD")
    for example in examples:
        assert read_part_payment(example, owing, locale)[1] is None, (locale, example)
        assert read_cash_tendered(example, 5_000, "CAD", locale)[1] is None, (locale, example)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_part_payment_field_reads_both_decimal_marks(locale: str) -> None:
    owing = Money(50_000, "CAD")
    assert read_part_payment("10.00", owing, locale) == (1_000, None)
    assert read_part_payment("10,00", owing, locale) == (1_000, None)
