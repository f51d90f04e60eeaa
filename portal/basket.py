"""The citizen's basket, kept in the server-side session as plain JSON.

Shape of `session["pay_basket"]`:

- `accounts`: account numbers found with their second factor, in the order found;
- `choices`: `{invoice_number: amount_in_minor_units}` once the basket form is valid;
- `key`: the idempotency key of the payment these choices would make (new when the
  choices change, or after a declined attempt);
- `notice`: a one-time message for the next page (a decline, a changed basket), and
  `notice_text` when the message was worded already (a bill being confirmed).

`session["pay_tried"]` lists the keys this browser sent to the gateway, so a return
from a hosted page (late, or refreshed after the basket was emptied) is recognised.

`session["paid"]` lists the transaction ids this browser paid: only it may see them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.views import mask_name
from shared.i18n import gettext_
from shared.models import Account, AccountStatus, Invoice, InvoiceStatus
from shared.money import Money, babel_locale
from shared.payments import holds

BASKET = "pay_basket"
TRIED = "pay_tried"
# Shared with the receipt pages, which show a payment to the browser that paid it.
PAID = "paid"
# A basket is for one sitting; more accounts than this is not a citizen paying bills.
MAX_ACCOUNTS = 10
UNPAYABLE = (AccountStatus.HOLD, AccountStatus.CLOSED)


def state(session: dict[str, Any]) -> dict[str, Any]:
    basket = session.get(BASKET)
    if not isinstance(basket, dict):
        basket = {"accounts": [], "choices": None, "key": None}
        session[BASKET] = basket
    return basket


def accounts(session: dict[str, Any]) -> list[str]:
    basket = session.get(BASKET)
    return list(basket["accounts"]) if isinstance(basket, dict) else []


def add_account(session: dict[str, Any], number: str) -> None:
    basket = state(session)
    if number not in basket["accounts"]:
        basket["accounts"] = [*basket["accounts"], number][-MAX_ACCOUNTS:]
        basket["choices"] = None


def remove_account(session: dict[str, Any], number: str) -> None:
    basket = state(session)
    if number in basket["accounts"]:
        basket["accounts"] = [n for n in basket["accounts"] if n != number]
        basket["choices"] = None


def choices(session: dict[str, Any]) -> dict[str, int] | None:
    basket = session.get(BASKET)
    if not isinstance(basket, dict) or not basket.get("choices"):
        return None
    return dict(basket["choices"])


def set_choices(session: dict[str, Any], chosen: dict[str, int]) -> None:
    """Keep the choices; the same choices keep their key, so paying again is a replay."""
    basket = state(session)
    if basket["choices"] != chosen or not basket["key"]:
        basket["choices"] = chosen
        basket["key"] = str(uuid.uuid4())


def key(session: dict[str, Any]) -> str | None:
    basket = session.get(BASKET)
    return basket.get("key") if isinstance(basket, dict) else None


def new_key(session: dict[str, Any]) -> None:
    """A new attempt (after a decline): the same bills, a new idempotency key."""
    state(session)["key"] = str(uuid.uuid4())


def tried(session: dict[str, Any], our_key: str) -> bool:
    keys = session.get(TRIED)
    return isinstance(keys, list) and our_key in keys


def mark_tried(session: dict[str, Any], our_key: str) -> None:
    keys = session.get(TRIED)
    keys = list(keys) if isinstance(keys, list) else []
    if our_key not in keys:
        session[TRIED] = [*keys, our_key][-20:]


def set_notice(session: dict[str, Any], code: str, text: str | None = None) -> None:
    state(session).update(notice=code, notice_text=text)


def pop_notice(session: dict[str, Any]) -> tuple[str | None, str | None]:
    """The one-time notice (code, and its words when they were set with it)."""
    basket = session.get(BASKET)
    if not isinstance(basket, dict):
        return None, None
    code, text = basket.pop("notice", None), basket.pop("notice_text", None)
    return (code if isinstance(code, str) else None), (text if isinstance(text, str) else None)


def finish(session: dict[str, Any], our_key: str) -> None:
    """The payment with `our_key` went through: empty the basket it came from."""
    basket = session.get(BASKET)
    if isinstance(basket, dict) and basket.get("key") == our_key:
        session.pop(BASKET)


def mark_paid(session: dict[str, Any], transaction_id: str) -> None:
    paid = session.get(PAID)
    paid = list(paid) if isinstance(paid, list) else []
    if transaction_id not in paid:
        session[PAID] = [*paid, transaction_id][-50:]


def paid_here(session: dict[str, Any], transaction_id: str) -> bool:
    paid = session.get(PAID)
    return isinstance(paid, list) and transaction_id in paid


# -- what the pages show -----------------------------------------------------------


def amount_text(money: Money, locale: str) -> str:
    """An amount as the person would type it: `1,234.56`, `1 234,56`."""
    return str(format_decimal(money.decimal, "#,##0.00", locale=babel_locale(locale)))


@dataclass
class Line:
    invoice: Invoice
    owing: Money
    partial: bool
    checked: bool = True
    amount: str = ""
    error: str | None = None
    # A card payment for this bill is being confirmed: what it holds, and what to say.
    held: Money | None = None
    held_notice: str | None = None

    @property
    def payable_now(self) -> Money:
        """What may be paid now: the bill's balance less what is being confirmed."""
        return self.owing if self.held is None else self.owing - self.held

    @property
    def number(self) -> str:
        return self.invoice.invoice_number

    @property
    def checkbox_id(self) -> str:
        return f"pay-{self.number}"

    @property
    def amount_id(self) -> str:
        return f"amount-{self.number}"


@dataclass
class Holding:
    """One found account as the basket shows it."""

    account: Account
    holder: str
    lines: list[Line] = field(default_factory=list)

    @property
    def payable(self) -> bool:
        return self.account.status not in UNPAYABLE

    @property
    def balance(self) -> Money:
        return sum((line.owing for line in self.lines), Money(0, self.currency))

    @property
    def currency(self) -> str:
        return self.lines[0].owing.currency if self.lines else "CAD"


def load(
    db: Session,
    numbers: list[str],
    currency: str,
    locale: str,
    timezone: str,
    chosen: dict[str, int] | None = None,
) -> list[Holding]:
    """The accounts in the basket with their open bills, as the basket form starts. A bill
    whose payment is being confirmed says so, and offers only what is not held."""
    if not numbers:
        return []
    found = {
        acc.account_number: acc
        for acc in db.scalars(
            select(Account)
            .where(Account.account_number.in_(numbers))
            .options(
                joinedload(Account.customer),
                joinedload(Account.department),
                selectinload(Account.invoices).joinedload(Invoice.fee_type),
            )
        ).unique()
    }
    held = holds.held_on(db, [i.id for acc in found.values() for i in acc.invoices])
    holdings = []
    for number in numbers:
        account = found.get(number)
        if account is None:
            continue
        holding = Holding(account, mask_name(account.customer.name))
        open_bills = sorted(
            (i for i in account.invoices if i.status is InvoiceStatus.OPEN and i.owing > 0),
            key=lambda i: (i.due_date, i.invoice_number),
        )
        for invoice in open_bills:
            line = Line(invoice, Money(invoice.owing, currency), invoice.fee_type.allows_partial)
            if (hold := held.get(invoice.id)) is not None:
                message, values = holds.notice(
                    hold, invoice.owing, invoice.invoice_number, currency, locale, timezone
                )
                line.held = Money(min(hold.amount, invoice.owing), currency)
                line.held_notice = gettext_(message) % values
            amount = line.payable_now
            checked = amount.minor > 0
            if chosen is not None:
                checked = invoice.invoice_number in chosen
                if checked:
                    amount = Money(chosen[invoice.invoice_number], currency)
            line.checked = checked and holding.payable
            line.amount = amount_text(amount, locale)
            holding.lines.append(line)
        holdings.append(holding)
    return holdings
