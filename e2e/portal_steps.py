"""Steps of the citizen portal's payment journey, shared by the portal e2e tests.

- `citizen(new_page, ...)`: a browser for one person, with a client address of its own.
  The portal limits bill look-ups to 10 per client address per 15 minutes; every browser
  here reaches the server from 127.0.0.1, so each citizen is given its own address in
  `X-Forwarded-For` (uvicorn trusts it from 127.0.0.1, as it would from the proxy in front
  of a real deployment). Tests stay independent of one another's look-ups.
- `bills(server, slot)`: a demo customer's tax and water accounts, untouched by the demo
  payments, with their access codes read from the server's database. Each test uses its
  own slot (a different customer), so no test depends on another test's payments.
- `find`, `choose`, `pay`, `pay_on_card_page`: the journey with the mouse (`click`,
  `fill`); `test_portal_keyboard.py` drives the same pages by keyboard.

Words come from the catalogs (`t(locale, msgid)`), so a step runs in en, fr and es.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import EmailMessage
from itertools import count

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from e2e.conftest import WAIT_MS, NewPage
from e2e.server import Server
from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour, SandboxCard
from shared.gateway.sandbox.messages import messages
from shared.i18n import translations
from shared.models import (
    Account,
    AccountStatus,
    Allocation,
    Customer,
    Invoice,
    InvoiceStatus,
)
from shared.money import Money

BROWSER_LOCALE = {"en": "en-CA", "fr": "fr-CA", "es": "es-US"}
CURRENCY = "CAD"
TAX, WATER = "Property Tax", "Water and Sewer"
EXPIRY, CVC, CARD_NAME = "12/35", "123", "Alex Martin"

_ADDRESSES = count(10)


def card(behaviour: Behaviour) -> SandboxCard:
    return next(c for c in SANDBOX_CARDS if c.behaviour is behaviour)


APPROVED = card(Behaviour.APPROVE)
DECLINED = card(Behaviour.DECLINE)
TIMEOUT_APPROVED = card(Behaviour.TIMEOUT_APPROVE)


def t(locale: str, message: str, **values: object) -> str:
    """`message` in `locale`, from the same catalogs the pages use."""
    text = translations(locale).gettext(message)
    return text % values if values else text


def money(minor: int, locale: str) -> str:
    return Money(minor, CURRENCY).format(locale)


def citizen(new_page: NewPage, locale: str = "en", width: int = 390, height: int = 844) -> Page:
    """A new browser (own cookies, own client address) whose language is `locale`."""
    address = f"198.51.100.{next(_ADDRESSES) % 250 + 1}"
    return new_page(
        width,
        height,
        locale=BROWSER_LOCALE[locale],
        extra_http_headers={"X-Forwarded-For": address},
    )


# -- demo bills ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bill:
    number: str
    minor: int  # owing
    partial: bool


@dataclass(frozen=True)
class Found:
    """One account as printed on a paper bill: number, access code, open bills."""

    account_number: str
    access_code: str
    department: str
    bills: tuple[Bill, ...]

    @property
    def owing(self) -> int:
        return sum(bill.minor for bill in self.bills)


@dataclass(frozen=True)
class Household:
    customer_number: str
    tax: Found
    water: Found


def _found(account: Account, paid_ever: set[int]) -> Found | None:
    bills = tuple(
        Bill(inv.invoice_number, inv.owing, inv.fee_type.allows_partial)
        for inv in sorted(account.invoices, key=lambda i: (i.due_date, i.invoice_number))
    )
    # Untouched: open, and no payment ever paid any of it (one refunded since counts too).
    untouched = all(
        inv.status is InvoiceStatus.OPEN and inv.amount_paid == 0 and inv.id not in paid_ever
        for inv in account.invoices
    )
    if account.status is not AccountStatus.ACTIVE or not bills or not untouched:
        return None
    return Found(account.account_number, account.access_code, account.department.name, bills)


_HOUSEHOLDS: dict[str, tuple[Household, ...]] = {}


def _households(server: Server) -> tuple[Household, ...]:
    if server.database_url in _HOUSEHOLDS:
        return _HOUSEHOLDS[server.database_url]
    found = []
    with server.db() as db:
        customers = db.scalars(
            select(Customer)
            .order_by(Customer.customer_number)
            .options(selectinload(Customer.accounts).selectinload(Account.invoices))
        ).all()
        paid_ever = set(db.scalars(select(Allocation.invoice_id).distinct()))
        for customer in customers:
            by_department = {a.department.name: _found(a, paid_ever) for a in customer.accounts}
            tax, water = by_department.get(TAX), by_department.get(WATER)
            if tax is not None and water is not None:
                found.append(Household(customer.customer_number, tax, water))
    _HOUSEHOLDS[server.database_url] = tuple(found)
    return _HOUSEHOLDS[server.database_url]


def household(server: Server, slot: int) -> Household:
    """The demo customer in `slot`: each test has its own, so tests share no bills."""
    found = _households(server)
    assert slot < len(found), f"only {len(found)} demo customers with open tax and water bills"
    return found[slot]


def household_accounts(server: Server) -> set[str]:
    """Every account the portal journeys may pay: other journeys leave them alone."""
    return {a.account_number for home in _households(server) for a in (home.tax, home.water)}


def owing_now(server: Server, invoice_numbers: list[str]) -> dict[str, int]:
    with server.db() as db:
        rows = db.scalars(select(Invoice).where(Invoice.invoice_number.in_(invoice_numbers)))
        return {inv.invoice_number: inv.owing for inv in rows}


# -- the journey with the mouse ------------------------------------------------------


def find(page: Page, account: Found, locale: str = "en") -> None:
    """From the home page or "Add another bill": look an account up, land on the basket."""
    page.get_by_label(t(locale, "Account number or bill number")).fill(account.account_number)
    page.get_by_label(t(locale, "Access code or postal code")).fill(account.access_code)
    page.get_by_role("button", name=t(locale, "Find my bill")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Your bills"))
    expect(page.get_by_role("heading", name=account.account_number)).to_be_visible()


def add_another(page: Page, locale: str = "en") -> None:
    page.get_by_role("link", name=t(locale, "Add another bill")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Find a bill"))


def find_household(page: Page, home: Household, locale: str = "en") -> None:
    """Home → find the tax account → "Add another bill" → find the water account."""
    page.goto("/")
    find(page, home.tax, locale)
    add_another(page, locale)
    find(page, home.water, locale)


def to_check(page: Page, locale: str = "en") -> None:
    page.get_by_role("button", name=t(locale, "Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Check your payment"))


def pay_button_name(total: int, locale: str) -> str:
    return t(locale, "Pay %(total)s by card", total=money(total, locale))


def to_card_page(page: Page, total: int, locale: str = "en") -> None:
    page.get_by_role("button", name=pay_button_name(total, locale)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(messages(locale)["pay_title"])


def card_pay_button_name(total: int, locale: str) -> str:
    return messages(locale)["pay_button"].format(amount=money(total, locale))


def pay_on_card_page(page: Page, number: str, total: int, locale: str = "en") -> None:
    """Type a card on the processor's hosted page and pay."""
    words = messages(locale)
    page.get_by_label(words["name"]).fill(CARD_NAME)
    page.get_by_label(words["number"]).fill(number)
    page.get_by_label(words["expiry"]).fill(EXPIRY)
    page.get_by_label(words["cvc"]).fill(CVC)
    page.get_by_role("button", name=card_pay_button_name(total, locale)).click()


def expect_received(page: Page, locale: str = "en") -> str:
    """On the confirmation page: the receipt number it shows."""
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Payment received"))
    number = page.locator(".pay-banner .pay-number")
    expect(number).to_have_count(1)
    return number.inner_text().strip()


def open_receipt(page: Page, number: str, locale: str = "en") -> None:
    page.get_by_role("link", name=t(locale, "View and print your receipt")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Your receipt"))
    expect(page.get_by_role("main")).to_contain_text(number)


def wait_for_email(server: Server, to: str) -> list[EmailMessage]:
    """The emails the SMTP server received for `to`, waiting (bounded by `WAIT_MS`) for the
    first one: the outbox sends them from the worker, outside the browser, so there is no
    page to `expect` on."""

    def received() -> list[EmailMessage]:
        return [r.message for r in server.messages if to in str(r.message.get("To", ""))]

    deadline = time.monotonic() + WAIT_MS / 1000
    while not received() and time.monotonic() < deadline:
        time.sleep(0.1)
    return received()
