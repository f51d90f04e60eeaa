"""The citizen portal pages that exist today (home, receipt verification), in every language:
axe, the `lang` attribute, the language switcher and the skip link, by keyboard, on a phone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from e2e.axe import assert_accessible
from e2e.conftest import NewPage
from e2e.keyboard import activate, assert_focus_visible, tab_to
from e2e.layout import assert_no_horizontal_scroll, assert_touch_targets
from e2e.server import Server
from shared.i18n import LOCALE_COOKIE, LOCALE_NAMES, LOCALES, translations

BROWSER_LOCALE = {"en": "en-CA", "fr": "fr-CA", "es": "es-US"}


def _(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture(scope="module")
def verify_path(server: Server) -> str:
    """The QR link of the first demo receipt, relative to the server."""
    return _path(server.receipt_verify_url())


def _pages(verify_path: str) -> dict[str, str]:
    number = urlsplit(verify_path).path.rsplit("/", 1)[-1]
    return {
        "home": "/",
        "verify": verify_path,
        "verify-forged": f"/verify/{number}?s=forged",
    }


PAGES = ["home", "verify", "verify-forged"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_axe_violations_and_the_right_lang(
    new_page: NewPage, verify_path: str, name: str, locale: str
) -> None:
    page = new_page(locale=BROWSER_LOCALE[locale])
    page.goto(_pages(verify_path)[name])
    expect(page.locator("html")).to_have_attribute("lang", locale)
    assert_accessible(page)


@pytest.mark.parametrize("locale", LOCALES)
def test_accept_language_chooses_the_language(new_page: NewPage, locale: str) -> None:
    page = new_page(locale=BROWSER_LOCALE[locale])
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(_(locale, "Pay a city bill"))


def test_genuine_receipt_is_confirmed_in_each_language(
    new_page: NewPage, server: Server, verify_path: str
) -> None:
    for locale in LOCALES:
        page = new_page(locale=BROWSER_LOCALE[locale])
        page.goto(verify_path)
        number = urlsplit(verify_path).path.rsplit("/", 1)[-1]
        genuine = _(locale, "Receipt %(number)s is genuine.") % {"number": number}
        expect(page.get_by_role("status")).to_contain_text(genuine)


def test_language_switcher_works_by_keyboard_and_is_remembered(
    page: Page, verify_path: str
) -> None:
    page.goto("/")
    for locale in ("fr", "es", "en"):
        activate(page, page.get_by_role("link", name=LOCALE_NAMES[locale]))
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.get_by_role("heading", level=1)).to_have_text(_(locale, "Pay a city bill"))
        # The current language is not a link: it is marked as the current one.
        expect(page.get_by_role("link", name=LOCALE_NAMES[locale])).to_have_count(0)
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        assert cookies.get(LOCALE_COOKIE) == locale

    activate(page, page.get_by_role("link", name=LOCALE_NAMES["fr"]))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    # Another page, no ?lang=: the choice is remembered, whatever the browser prefers.
    page.goto(verify_path)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(_("fr", "Check a receipt"))
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def test_switching_language_on_the_verify_page_keeps_the_receipt(
    page: Page, verify_path: str
) -> None:
    page.goto(verify_path)
    expect(page.get_by_role("status")).to_be_visible()
    activate(page, page.get_by_role("link", name=LOCALE_NAMES["es"]))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("status")).to_be_visible()


@pytest.mark.parametrize("name", ["home", "verify"])
def test_skip_link_is_first_visible_on_focus_and_moves_focus_to_main(
    page: Page, verify_path: str, name: str
) -> None:
    page.goto(_pages(verify_path)[name])
    skip = page.get_by_role("link", name=_("en", "Skip to main content"))
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    assert_focus_visible(skip)
    page.keyboard.press("Enter")
    main = page.get_by_role("main")
    expect(main).to_be_focused()
    # The next Tab goes on from the main content, not back to the header.
    page.keyboard.press("Tab")
    assert page.evaluate(
        "() => document.activeElement === document.body"
        " || !document.querySelector('header').contains(document.activeElement)"
    ), "after the skip link, Tab went back into the header"


@pytest.mark.parametrize("name", ["home", "verify"])
def test_every_link_shows_focus(page: Page, verify_path: str, name: str) -> None:
    page.goto(_pages(verify_path)[name])
    for link in page.get_by_role("link").all():
        tab_to(page, link)
        assert_focus_visible(link)


# Known defects, strict: when one is fixed the test XPASSes, fails, and the mark must go.


@pytest.mark.parametrize(
    ("name", "locale"),
    [
        *(("home", locale) for locale in LOCALES),
        ("verify", "en"),
        ("verify", "fr"),
        ("verify", "es"),
    ],
)
def test_no_sideways_scroll_at_360_px(
    new_page: NewPage, verify_path: str, name: str, locale: str
) -> None:
    page = new_page(360, 740, locale=BROWSER_LOCALE[locale])
    page.goto(_pages(verify_path)[name])
    assert_no_horizontal_scroll(page)


@pytest.mark.parametrize(
    ("name", "locale"),
    [
        *(("home", locale) for locale in LOCALES),
        *(("verify", locale) for locale in LOCALES),
    ],
)
def test_touch_targets_at_least_44_px(
    new_page: NewPage, verify_path: str, name: str, locale: str
) -> None:
    page = new_page(360, 740, locale=BROWSER_LOCALE[locale])
    page.goto(_pages(verify_path)[name])
    assert_touch_targets(page)
