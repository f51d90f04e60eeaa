"""Reading the amount a person typed to pay part of a bill, with the message to show."""

from __future__ import annotations

from shared.i18n import gettext_ as _
from shared.money import Money, MoneyError, parse_money


def read_part_payment(text: str, owing: Money, locale: str) -> tuple[int | None, str | None]:
    """The amount in minor units, or None and the error to show beside the field.

    Read the way `locale` writes numbers (`1 234,56` in French); more than zero, at
    most what is owing, at most the currency's decimals.
    """
    try:
        amount = parse_money(text, owing.currency, locale)
    except MoneyError as exc:
        if not text.strip():
            return None, _("Enter the amount you want to pay.")
        if "decimal" in str(exc):
            return None, _("Enter the amount with no more than 2 decimal places.")
        return None, _("Enter the amount as a number, like 125.50.")
    if amount.minor <= 0:
        return None, _("Enter an amount more than zero.")
    if amount > owing:
        return None, _("Enter no more than the %(owing)s owing.") % {"owing": owing.format(locale)}
    return amount.minor, None
