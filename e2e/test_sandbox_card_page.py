"""The sandbox processor's hosted card page, where the citizen types their card: every
language passes axe, it can be filled and submitted by keyboard alone, errors are
summarised and announced, and it fits a 360 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.axe import assert_accessible
from e2e.conftest import NewPage
from e2e.keyboard import activate, assert_focus_visible, tab_to, type_into
from e2e.layout import assert_no_horizontal_scroll, assert_touch_targets
from e2e.server import Server
from shared.gateway.protocol import HostedSession
from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour
from shared.gateway.sandbox.gateway import with_session
from shared.gateway.sandbox.messages import messages
from shared.i18n import LOCALES
from shared.money import Money

APPROVED = next(card for card in SANDBOX_CARDS if card.behaviour is Behaviour.APPROVE)
AMOUNT = 4_200


def _open(page: Page, server: Server, locale: str) -> HostedSession:
    session = server.hosted_session(amount=AMOUNT, locale=locale, return_path="/")
    page.goto(session.url)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    return session


def _pay_button(page: Page, locale: str) -> str:
    return messages(locale)["pay_button"].format(amount=Money(AMOUNT, "CAD").format(locale))


def _fill_by_keyboard(page: Page, locale: str, number: str) -> None:
    t = messages(locale)
    type_into(page, page.get_by_label(t["name"]), "Alex Martin")
    type_into(page, page.get_by_label(t["number"]), number)
    type_into(page, page.get_by_label(t["expiry"]), "12/35")
    type_into(page, page.get_by_label(t["cvc"]), "123")


@pytest.mark.parametrize("locale", LOCALES)
def test_card_page_has_no_axe_violations(page: Page, server: Server, locale: str) -> None:
    _open(page, server, locale)
    expect(page.get_by_role("heading", level=1)).to_have_text(messages(locale)["pay_title"])
    assert_accessible(page)


@pytest.mark.parametrize("locale", LOCALES)
def test_keyboard_only_payment_lands_on_the_return_url(
    page: Page, server: Server, locale: str
) -> None:
    session = _open(page, server, locale)
    _fill_by_keyboard(page, locale, APPROVED.spaced)
    pay = page.get_by_role("button", name=_pay_button(page, locale))
    tab_to(page, pay)
    assert_focus_visible(pay)
    page.keyboard.press("Enter")
    expect(page).to_have_url(with_session(server.url("/"), session.id))
    with server.sandbox() as gateway:
        assert gateway.hosted_result(session.id).completed


@pytest.mark.parametrize("locale", LOCALES)
def test_a_bad_card_number_is_summarised_announced_and_linked_to_its_field(
    page: Page, server: Server, locale: str
) -> None:
    t = messages(locale)
    session = _open(page, server, locale)
    _fill_by_keyboard(page, locale, "4242 4242 4242 4241")
    activate(page, page.get_by_role("button", name=_pay_button(page, locale)))

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(t["error_summary"])
    expect(summary).to_contain_text(t["invalid_number"])
    assert page.title().startswith(t["error_title_prefix"]), page.title()
    number = page.get_by_label(t["number"])
    expect(number).to_have_attribute("aria-invalid", "true")
    # The number typed is never sent back to the browser.
    expect(number).to_have_value("")
    assert "4241" not in page.content()
    assert_accessible(page)

    # The summary's link takes a keyboard user to the field to correct.
    activate(page, summary.get_by_role("link", name=t["invalid_number"]))
    expect(number).to_be_focused()
    page.keyboard.type(APPROVED.number)
    type_into(page, page.get_by_label(t["cvc"]), "123")
    activate(page, page.get_by_role("button", name=_pay_button(page, locale)))
    expect(page).to_have_url(with_session(server.url("/"), session.id))


def test_every_field_and_button_shows_focus(page: Page, server: Server) -> None:
    _open(page, server, "en")
    t = messages("en")
    for target in [
        *(page.get_by_label(t[name]) for name in ("name", "number", "expiry", "cvc")),
        page.get_by_role("button", name=_pay_button(page, "en")),
        page.get_by_role("button", name=t["cancel_button"]),
    ]:
        tab_to(page, target)
        assert_focus_visible(target)


def test_skip_link_moves_focus_to_the_form(page: Page, server: Server) -> None:
    _open(page, server, "en")
    skip = page.get_by_role("link", name=messages("en")["skip"])
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    assert_focus_visible(skip)
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()


@pytest.mark.parametrize("locale", LOCALES)
def test_no_sideways_scroll_at_360_px(new_page: NewPage, server: Server, locale: str) -> None:
    page = new_page(360, 740)
    _open(page, server, locale)
    assert_no_horizontal_scroll(page)


@pytest.mark.parametrize("locale", LOCALES)
def test_touch_targets_at_least_44_px(phone: Page, server: Server, locale: str) -> None:
    _open(phone, server, locale)
    assert_touch_targets(phone)
