"""The payment journey by keyboard alone (portal issue, "Accessibility"): two accounts
found, paid in one card payment on the processor's hosted page, the receipt opened, with
Tab, Enter and typing only, and a visible focus indicator on everything used."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from e2e.conftest import NewPage
from e2e.keyboard import assert_focus_visible, tab_to
from e2e.portal_steps import (
    APPROVED,
    CARD_NAME,
    CVC,
    EXPIRY,
    TAX,
    WATER,
    Found,
    card_pay_button_name,
    citizen,
    household,
    owing_now,
    pay_button_name,
    t,
)
from e2e.server import Server
from shared.gateway.sandbox.messages import messages

SLOT_KEYBOARD = 5


def _press(page: Page, target: Locator, key: str = "Enter") -> None:
    """Tab to `target`, check its focus can be seen, press `key`."""
    tab_to(page, target)
    assert_focus_visible(target)
    page.keyboard.press(key)


def _type(page: Page, field: Locator, text: str) -> None:
    tab_to(page, field)
    assert_focus_visible(field)
    page.keyboard.type(text)


def _find(page: Page, account: Found) -> None:
    _type(page, page.get_by_label(t("en", "Account number or bill number")), account.account_number)
    _type(page, page.get_by_label(t("en", "Access code or postal code")), account.access_code)
    _press(page, page.get_by_role("button", name=t("en", "Find my bill")))
    expect(page.get_by_role("heading", name=account.account_number)).to_be_visible()


def test_pay_two_departments_by_keyboard_alone(new_page: NewPage, server: Server) -> None:
    page = citizen(new_page)
    home = household(server, SLOT_KEYBOARD)
    total = home.tax.owing + home.water.owing
    page.goto("/")

    _find(page, home.tax)
    _press(page, page.get_by_role("link", name=t("en", "Add another bill")))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Find a bill"))
    _find(page, home.water)

    _press(page, page.get_by_role("button", name=t("en", "Continue")))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Check your payment"))
    _press(page, page.get_by_role("button", name=pay_button_name(total, "en")))

    # The processor's hosted page: the card is typed there, by keyboard too.
    words = messages("en")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["pay_title"])
    _type(page, page.get_by_label(words["name"]), CARD_NAME)
    _type(page, page.get_by_label(words["number"]), APPROVED.spaced)
    _type(page, page.get_by_label(words["expiry"]), EXPIRY)
    _type(page, page.get_by_label(words["cvc"]), CVC)
    _press(page, page.get_by_role("button", name=card_pay_button_name(total, "en")))

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Payment received"))
    applied = page.get_by_role("table", name=t("en", "How your payment was applied"))
    expect(applied).to_contain_text(TAX)
    expect(applied).to_contain_text(WATER)
    _press(page, page.get_by_role("link", name=t("en", "View and print your receipt")))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Your receipt"))
    download = page.get_by_role("link", name=t("en", "Download PDF"))
    tab_to(page, download)
    assert_focus_visible(download)

    numbers = [bill.number for bill in (*home.tax.bills, *home.water.bills)]
    assert set(owing_now(server, numbers).values()) == {0}
