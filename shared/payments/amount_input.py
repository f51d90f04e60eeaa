"""Reading an amount a person typed (part of a bill, cash handed over), with the message
to show beside the field."""

from __future__ import annotations

from shared.i18n import gettext_ as _
from shared.money import Money, MoneyError, parse_money

# The most change a counter gives, in minor units: 1,000.00 in a two-decimal currency,
# 100,000 yen. More is a typing slip (an extra zero or two), not cash in the customer's
# hand; it also keeps an absurd number out of the database's 64-bit integers.
MAX_CHANGE = 100_000


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


def read_cash_tendered(
    text: str, due: int | None, currency: str, locale: str
) -> tuple[int | None, str | None]:
    """The cash handed over in minor units, or None and the error to show beside the field.

    More than zero, and at most `MAX_CHANGE` more than `due` (None: not known yet, as
    when an amount chosen is wrong; the caller refuses the form for that anyway).
    """
    try:
        cash = parse_money(text, currency, locale)
    except MoneyError:
        return None, _("Enter the cash tendered, like 50.00.")
    if cash.minor <= 0:
        return None, _("Enter the cash tendered, like 50.00.")
    if due is not None and cash.minor - due > MAX_CHANGE:
        most = Money(MAX_CHANGE, currency).format(locale)
        return None, _("The change due would be more than %(most)s. Check the cash tendered.") % {
            "most": most
        }
    return cash.minor, None
