"""The help widget and the support queue, in a real browser against the real server.

- A resident on the portal's receipt page opens the widget, sees the answer for a settled
  payment, contacts support; an agent watching the queue in another browser sees the
  request appear by itself with the payment's live status, resends the receipt and
  resolves it; the confirmation and both receipts arrive at the SMTP server.
- At a kiosk (another site's page, allowed in PAYDESK_WIDGET_ORIGINS, under a strict CSP):
  "call for help" carries the terminal; after the idle reset, and at the session's end,
  nothing of the resident remains in the widget, and nothing was stored.
- By keyboard alone, with axe-core checking the open panel, in English, French, Spanish.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from e2e.axe import assert_accessible
from e2e.conftest import WAIT_MS, NewPage
from e2e.portal_steps import (
    APPROVED,
    Household,
    citizen,
    expect_received,
    find_household,
    household,
    open_receipt,
    pay_on_card_page,
    to_card_page,
    to_check,
)
from e2e.server import Server
from e2e.staff_steps import DESK, Hands, sign_in
from shared.context_ref import sign_context
from shared.i18n import translations
from shared.models import InteractionChannel, SupportPriority, SupportRequest

SLOT_RESIDENT = 13
# The queue refreshes itself every 10 seconds: a bound on waiting for it, not a target.
QUEUE_WAIT_MS = 25_000


def t(locale: str, message: str, **values: object) -> str:
    text = translations(locale).gettext(message)
    return text % values if values else text


def launcher(page: Page, locale: str = "en") -> Locator:
    return page.get_by_role("button", name=t(locale, "Need help with a payment? Contact us"))


def panel(page: Page, locale: str = "en") -> Locator:
    return page.get_by_role("dialog", name=t(locale, "Help with a payment"))


def _wait_for(found: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_MS / 1000
    while not found() and time.monotonic() < deadline:
        time.sleep(0.1)


def emails_to(server: Server, address: str) -> list[EmailMessage]:
    return [r.message for r in server.messages if address in str(r.message.get("To", ""))]


def _paid_total(home: Household) -> int:
    return home.tax.owing + home.water.owing


# -- 1. A resident asks, an agent answers -------------------------------------------------


def test_a_resident_asks_from_the_receipt_page_and_an_agent_answers(
    new_page: NewPage, server: Server
) -> None:
    agent_page = new_page(*DESK)
    sign_in(Hands(agent_page), "agent")
    agent_page.get_by_role("link", name=t("en", "Support queue")).first.click()
    expect(agent_page.get_by_role("heading", level=1)).to_have_text(t("en", "Support queue"))

    # The resident pays both bills, with an email address for the receipt.
    page = citizen(new_page)
    home = household(server, SLOT_RESIDENT)
    address = f"e2e-support-{home.customer_number.lower()}@example.org"
    total = _paid_total(home)
    find_household(page, home)
    to_check(page)
    page.get_by_label(t("en", "Email address for your receipt (optional)")).fill(address)
    to_card_page(page, total)
    pay_on_card_page(page, APPROVED.spaced, total)
    number = expect_received(page)
    open_receipt(page, number)
    # The day's card batch closes: the payment is settled. The widget reads it live.
    server.paydesk("settle")

    launcher(page).click()
    help_panel = panel(page)
    expect(help_panel).to_be_visible()
    expect(help_panel).to_contain_text(t("en", "About receipt %(number)s.", number=number))
    expect(help_panel).to_contain_text("Your payment is complete")
    expect(
        help_panel.get_by_role("button", name=re.compile("Email my receipt to e•••@"))
    ).to_be_visible()
    help_panel.get_by_role("link", name=t("en", "Contact support")).click()
    form = page.get_by_role("dialog", name=t("en", "Contact support"))
    form.get_by_label(t("en", "Your name")).fill("Ana Resident")
    form.get_by_label(t("en", "Email address")).fill(address)
    form.get_by_label(t("en", "Your question")).fill("Can I have my receipt again, please?")
    form.get_by_role("button", name=t("en", "Send to support")).click()
    done = page.get_by_role("dialog", name=t("en", "Your request is received"))
    expect(done).to_be_visible()
    reference = done.locator(".pd-reference").inner_text().strip()
    assert re.fullmatch(r"S-\d{4}-\d{6}", reference), reference

    # The agent's queue shows it without a reload, with the payment's status now.
    row = agent_page.locator(f"#request-{reference}")
    expect(row).to_be_visible(timeout=QUEUE_WAIT_MS)
    expect(row).to_contain_text(t("en", "Settled"))
    row.get_by_role("link", name=reference).click()
    main = agent_page.get_by_role("main")
    expect(main).to_contain_text("Can I have my receipt again, please?")
    expect(main).to_contain_text(number)
    agent_page.get_by_role("button", name=t("en", "Claim it")).click()
    expect(agent_page.get_by_role("status")).to_have_text(
        t("en", "%(reference)s is yours.", reference=reference)
    )
    agent_page.get_by_role("button", name=t("en", "Send the receipt")).click()
    expect(agent_page.get_by_role("status")).to_have_text(
        t(
            "en",
            "Receipt %(number)s will be emailed to %(address)s.",
            number=number,
            address=address,
        )
    )
    agent_page.get_by_label(t("en", "Outcome")).select_option(label=t("en", "Resolved"))
    agent_page.get_by_label(t("en", "What was done")).fill("Resent the receipt.")
    agent_page.get_by_role("button", name=t("en", "Resolve"), exact=True).click()
    expect(agent_page.get_by_role("status")).to_have_text(
        t("en", "%(reference)s is resolved.", reference=reference)
    )

    # The confirmation, the receipt at payment and the one resent, through real SMTP.
    _wait_for(lambda: len(emails_to(server, address)) >= 3)
    received = emails_to(server, address)
    subjects = [str(email["Subject"]) for email in received]
    assert f"[{reference}] We received your request" in subjects, subjects
    receipts = [email for email in received if number in str(email["Subject"])]
    assert len(receipts) == 2, subjects
    for email in receipts:
        pdfs = [p for p in email.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")


# -- 2. At a kiosk ------------------------------------------------------------------------


@contextmanager
def embedding_site(server: Server, html: str) -> Iterator[str]:
    """Another site's page, on the origin the server allows, under a strict CSP that lets
    in nothing but Paydesk: the widget must work without inline script or style."""
    origin = server.base_url
    policy = (
        f"default-src 'none'; script-src {origin}; style-src {origin}; connect-src {origin}; "
        "base-uri 'none'; form-action 'none'"
    )
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", server.embedder_port), Page)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{server.embedder_origin}/kiosk.html"
    finally:
        site.shutdown()
        site.server_close()
        thread.join()


def kiosk_page(server: Server, terminal: str, locale: str) -> str:
    token = sign_context(
        server.secret_key, "terminal", terminal, channel="kiosk", terminal=terminal
    )
    help_url = f"{server.base_url}/support/?ctx={token}"
    return f"""<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8"><title>Kiosk</title></head>
<body><main><h1>Kiosk</h1><p>Pay a bill here.</p></main>
<footer><div id="paydesk-help" data-kiosk data-idle-seconds="3" data-context="{token}">
<a href="{help_url}">{t(locale, "Need help with a payment? Contact us")}</a></div>
<script src="{server.base_url}/support/widget.js" defer></script></footer></body></html>"""


SHADOW_TEXT = "() => document.querySelector('#paydesk-help > div').shadowRoot.innerHTML"


def test_at_a_kiosk_call_for_help_carries_the_terminal_and_nothing_remains(
    new_page: NewPage, server: Server
) -> None:
    with embedding_site(server, kiosk_page(server, "KIOSK-E2E-1", "fr")) as url:
        page = new_page(1080, 1920, locale="fr-CA")
        page.goto(url)
        launcher(page, "fr").click()
        help_panel = panel(page, "fr")
        expect(help_panel).to_contain_text(t("fr", "Need a person?"))
        help_panel.get_by_role("button", name=t("fr", "Call for help")).click()
        called = page.get_by_role("dialog", name=t("fr", "Help is on the way"))
        expect(called).to_be_visible()
        reference = called.locator(".pd-reference").inner_text().strip()
        with server.db() as db:
            made = db.scalars(
                select(SupportRequest).where(SupportRequest.reference == reference)
            ).one()
            assert made.terminal_code == "KIOSK-E2E-1"
            assert made.priority is SupportPriority.HIGH
            assert made.interaction.channel is InteractionChannel.KIOSK

        # The resident starts writing, then walks away: after the quiet spell, all is gone.
        called.get_by_role("link", name=t("fr", "Back to help")).click()
        panel(page, "fr").get_by_role("link", name=t("fr", "Contact support")).click()
        form = page.get_by_role("dialog", name=t("fr", "Contact support"))
        form.get_by_label(t("fr", "Your name")).fill("Résidente Précédente")
        expect(form).to_be_hidden(timeout=WAIT_MS)
        expect(launcher(page, "fr")).to_have_attribute("aria-expanded", "false")
        left = page.evaluate(SHADOW_TEXT)
        assert "Résidente Précédente" not in left and reference not in left
        assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
        assert page.context.cookies() == []

        # The kiosk's session ends (the runtime says so): the panel empties at once.
        launcher(page, "fr").click()
        expect(panel(page, "fr")).to_be_visible()
        page.evaluate("() => document.dispatchEvent(new Event('paydesk:session-end'))")
        expect(panel(page, "fr")).to_be_hidden()
        assert "pd-screen" not in page.evaluate(SHADOW_TEXT)


# -- 3. By keyboard, with axe -------------------------------------------------------------

FOCUS = """() => {
  const host = document.querySelector('#paydesk-help > div');
  const el = host && host.shadowRoot && host.shadowRoot.activeElement;
  if (!el || document.activeElement !== host) return null;
  return { inPanel: !!el.closest('.pd-panel'), launcher: el.classList.contains('pd-launcher'),
           id: el.id, label: (el.getAttribute('aria-label') || el.textContent || '').trim() };
}"""


def _focus(page: Page) -> dict[str, object] | None:
    found: dict[str, object] | None = page.evaluate(FOCUS)
    return found


def _tab_until(page: Page, label: str = "", *, field: str = "", limit: int = 60) -> None:
    """Tab until the control named `label` (or the field with id `field`) has focus."""
    for _ in range(limit):
        now = _focus(page)
        if now is not None and (now["id"] == field if field else now["label"] == label):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {label or field!r}")


def _where(page: Page) -> tuple[object, object, object] | None:
    now = _focus(page)
    return (now["inPanel"], now["launcher"], now["label"]) if now else None


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_by_keyboard_alone_with_the_panel_open_axe_finds_nothing(
    new_page: NewPage, server: Server, locale: str
) -> None:
    page = citizen(new_page, locale)
    page.goto(f"/?lang={locale}")
    _tab_until(page, t(locale, "Need help with a payment? Contact us"))
    page.keyboard.press("Enter")
    expect(panel(page, locale)).to_be_visible()
    assert _where(page) == (True, False, t(locale, "Help with a payment"))
    assert_accessible(page)

    # Focus stays in the panel, however far one tabs, both ways.
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        now = _focus(page)
        assert now is not None and now["inPanel"], f"{key} left the panel: {now}"

    # Esc closes it and gives focus back to the button that opened it.
    page.keyboard.press("Escape")
    expect(panel(page, locale)).to_be_hidden()
    assert _where(page) == (False, True, t(locale, "Need help with a payment? Contact us"))

    # Contact support, all by keyboard: a mistake is announced and checked by axe too.
    page.keyboard.press("Enter")
    expect(panel(page, locale)).to_be_visible()
    _tab_until(page, t(locale, "Contact support"))
    page.keyboard.press("Enter")
    form = page.get_by_role("dialog", name=t(locale, "Contact support"))
    expect(form).to_be_visible()
    _tab_until(page, t(locale, "Send to support"))
    page.keyboard.press("Enter")
    expect(form.get_by_role("alert")).to_contain_text(t(locale, "Enter your name."))
    status = page.locator("#paydesk-help .pd-live")
    expect(status).to_have_text(t(locale, "There is a problem"))
    assert_accessible(page)
    for field, text in [
        ("contact-name", "Keyboard Resident"),
        ("contact-email", f"keyboard-{locale}@example.org"),
        ("contact-message", "Where is my receipt?"),
    ]:
        _tab_until(page, field=field)
        page.keyboard.type(text)
    _tab_until(page, t(locale, "Send to support"))
    page.keyboard.press("Enter")
    done = page.get_by_role("dialog", name=t(locale, "Your request is received"))
    expect(done).to_be_visible()
    expect(status).to_contain_text(t(locale, "Your request is received"))
    assert_accessible(page)
