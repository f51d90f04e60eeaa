"""axe (WCAG 2.2 A/AA), no sideways scroll and 44 px touch targets on every portal page,
in English, French and Spanish, on the narrowest phone we support (360 px).

One journey per language walks every page state (error states too): home, find (empty
and with errors), basket (and with an error), check (and with an error), the card page,
"we are confirming your payment", the confirmation, the receipt (and with an error),
"we are sending your receipt", the status form (and with errors), the status result and
the receipt's verification page, and the page for an address that leads nowhere. Every
problem on every page is collected, then reported together, so one run shows them all."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from e2e.axe import describe, violations
from e2e.conftest import NARROW_PHONE, NewPage
from e2e.layout import MIN_TARGET_PX, small_targets
from e2e.portal_steps import (
    TIMEOUT_APPROVED,
    add_another,
    citizen,
    expect_received,
    find,
    household,
    money,
    open_receipt,
    pay_on_card_page,
    t,
    to_card_page,
)
from e2e.server import Server
from shared.i18n import LOCALES
from shared.money import Money

SLOTS = {"en": 6, "fr": 7, "es": 8}


def _typed(minor: int, locale: str) -> str:
    """An amount as typed in `locale`, no thousands separator: 1234.56, 1234,56."""
    plain = Money(minor, "CAD").plain()
    return plain if locale == "en" else plain.replace(".", ",")


class Findings:
    """Problems found page by page; `assert_none()` fails with all of them."""

    def __init__(self, page: Page, locale: str) -> None:
        self.page, self.locale, self.found = page, locale, []

    def check(self, name: str) -> None:
        page = self.page
        expect(page.locator("html")).to_have_attribute("lang", self.locale)
        problems = []
        if found := violations(page):
            problems.append(describe(found))
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > NARROW_PHONE[0]:
            problems.append(f"- scrolls sideways: the page is {width} px wide")
        if small := small_targets(page):
            problems.append(f"- touch targets under {MIN_TARGET_PX} px: {small}")
        if problems:
            self.found.append(f"{name} ({urlsplit(page.url).path}):\n" + "\n".join(problems))

    def assert_none(self) -> None:
        assert not self.found, f"{self.locale}: {len(self.found)} page(s) with problems:\n" + (
            "\n".join(self.found)
        )


def _hold_polling(route: Route) -> None:
    """Keeps the confirming page as served while axe reads it (htmx's poll is answered
    when the test lets go)."""
    if route.request.headers.get("hx-request"):
        route.abort()
    else:
        route.continue_()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_portal_page_is_accessible_on_a_phone(
    new_page: NewPage, server: Server, locale: str
) -> None:
    page = citizen(new_page, locale, *NARROW_PHONE)
    home = household(server, SLOTS[locale])
    check = Findings(page, locale)

    page.goto("/")
    check.check("home")

    page.goto("/find")
    check.check("find")
    page.get_by_role("button", name=t(locale, "Find my bill")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("find, nothing typed")
    page.get_by_label(t(locale, "Account number or bill number")).fill(home.tax.account_number)
    page.get_by_label(t(locale, "Access code or postal code")).fill("000000X")
    page.get_by_role("button", name=t(locale, "Find my bill")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("find, not found")

    find(page, home.tax, locale)
    check.check("basket")
    add_another(page, locale)
    check.check("find, with a basket")
    find(page, home.water, locale)
    check.check("basket, two accounts")

    bill = home.tax.bills[0]
    amount = page.get_by_label(t(locale, "Amount to pay for %(number)s", number=bill.number))
    amount.fill("12,34,5.999")
    page.get_by_role("button", name=t(locale, "Continue")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("basket, bad amount")
    amount.fill(_typed(bill.minor, locale))
    page.get_by_role("button", name=t(locale, "Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(locale, "Check your payment"))
    check.check("check")

    total = home.tax.owing + home.water.owing
    email = page.get_by_label(t(locale, "Email address for your receipt (optional)"))
    email.fill("not an address")
    page.get_by_role(
        "button", name=t(locale, "Pay %(total)s by card", total=money(total, locale))
    ).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("check, bad email")
    email.fill("")
    to_card_page(page, total, locale)

    page.route("**/payments/*", _hold_polling)
    pay_on_card_page(page, TIMEOUT_APPROVED.spaced, total, locale)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(t(locale, "We are confirming your payment"))
    check.check("confirming")
    page.unroute("**/payments/*")
    number = expect_received(page, locale)
    check.check("confirmation")

    open_receipt(page, number, locale)
    check.check("receipt")
    page.get_by_role("button", name=t(locale, "Email the receipt")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("receipt, no email address")
    page.get_by_label(t(locale, "Email address"), exact=True).fill(f"a11y-{locale}@example.org")
    page.get_by_role("button", name=t(locale, "Email the receipt")).click()
    expect(page.get_by_role("status")).to_be_visible()
    check.check("email sent")

    page.goto("/status")
    check.check("status")
    page.get_by_role("button", name=t(locale, "Check my payment")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("status, nothing typed")
    page.get_by_label(t(locale, "Receipt number or transaction ID")).fill(number)
    page.get_by_label(t(locale, "Amount paid")).fill("1.00")
    last4 = page.get_by_label(t(locale, "Email address or last 4 digits of the card"))
    last4.fill(TIMEOUT_APPROVED.number[-4:])
    page.get_by_role("button", name=t(locale, "Check my payment")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check.check("status, not found")
    page.get_by_label(t(locale, "Amount paid")).fill(_typed(total, locale))
    page.get_by_role("button", name=t(locale, "Check my payment")).click()
    expect(heading).to_have_text(t(locale, "Payment status"))
    check.check("status result")

    verify = urlsplit(server.receipt_verify_url(number))
    page.goto(f"{verify.path}?{verify.query}")
    expect(page.get_by_role("status")).to_be_visible()
    check.check("verify")

    page.goto("/no-such-page")
    expect(heading).to_have_text(t(locale, "Page not found"))
    check.check("page not found")

    check.assert_none()
