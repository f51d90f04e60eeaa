"""Fixtures for browser journeys against the real server.

- `server` (session): a running `paydesk serve` with demo data; see `e2e.server.Server`
  for its URLs, folder, log, emails received and look-up helpers.
- `browser` (session): Debian's Chromium driven by Playwright.
- `new_page` (test): a factory for pages, each in its own browser context (own cookies),
  e.g. `new_page(width=360, locale="fr-CA")`; every context is closed after the test.
- `page`: a phone-sized page (390 x 844) with an English browser.
- `phone`: the narrowest phone we support (360 x 740).

Every test starts from a fresh context, so a language cookie set in one test never
leaks into another. `e2e/test_zz_pci.py` runs last and scans the server's files for
card numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from e2e.server import Server, start_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = (390, 844)
NARROW_PHONE = (360, 740)
# Playwright's auto-waiting (expect, clicks) gives up after this; a bound, not a target.
WAIT_MS = 10_000

NewPage = Callable[..., Page]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("e2e-server")) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        driver.selectors.set_test_id_attribute("data-testid")
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `scripts/bootstrap.sh test` (Debian chromium)")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def new_page(browser: Browser, server: Server) -> Iterator[NewPage]:
    """`new_page(width=390, height=844, locale="en-CA", **context_options) -> Page`.

    `locale` sets the browser's language (its Accept-Language); other keyword arguments
    go to `browser.new_context`. Relative URLs in `page.goto` resolve against the server.
    """
    contexts: list[BrowserContext] = []

    def make(
        width: int = PHONE[0],
        height: int = PHONE[1],
        locale: str = "en-CA",
        **options: object,
    ) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale=locale,
            base_url=server.base_url,
            **options,  # type: ignore[arg-type]
        )
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()


@pytest.fixture
def phone(new_page: NewPage) -> Page:
    return new_page(*NARROW_PHONE)
