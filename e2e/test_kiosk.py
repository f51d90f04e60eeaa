"""The lobby kiosk in Chromium: `paydesk kiosk` (simulated reader and file printer) enrolled
with the real server, driven by keyboard alone, with axe-core on every screen.

- In English, French and Spanish: choose the language, find a bill on the keypad's
  fields, add a bill of another account (another department), pay both with one card
  (the simulated reader's demo buttons), take the receipt, call for help, finish; the
  printed receipt has both bills and its number, and the French one its accents.
- "Are you still there?": the countdown shows, "more time" keeps the visit, and when it
  runs out the visit is wiped: back to the welcome screen with no cookie left.
- The out-of-service screen (a kiosk whose server cannot be reached).
- A blocked card, then a printer that cannot print: retry, the QR code, the receipt
  emailed from the on-screen keyboard.
- Through a relay that loses the network on cue: a card the bank declines (another card,
  then) a payment whose request never arrived ("not charged"), one whose answer was lost
  ("being confirmed", resolved when the network is back) and a receipt that cannot be
  fetched ("approved, no receipt yet"): every one of those screens passes axe. The
  sandbox's slow cards ("being confirmed", then the recovery job's approval or decline).
- A printer out of paper (the emulated ESC/POS printer on a pseudo-terminal): the QR code
  and the email keypad, nothing printed, and staff see "paper out".
- Killed in the middle of a payment (its answer lost): restarted, the kiosk reconciles
  its journal before it welcomes anyone, and the server charged once.
- Staff find the kiosk's payment in the console, naming its terminal.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from e2e.axe import assert_accessible
from e2e.conftest import WAIT_MS, NewPage
from e2e.keyboard import activate, assert_focus_visible, type_into
from e2e.portal_steps import household_accounts
from e2e.server import Server
from e2e.staff_steps import Hands, sign_in
from shared.actors import Actor, ActorType
from shared.models import (
    Account,
    AccountStatus,
    Allocation,
    Department,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
)
from shared.terminals import registry
from tests.kiosk.proxy import Relay
from tests.kiosk_devices.printer.emulator import EscPosEmulator
from tests.kiosk_devices.printer.transports import PtyPrinter

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor(ActorType.STAFF, "e2e-admin")
SCREEN = (1280, 1024)
PRINTED = {"en": "Receipt", "fr": "Reçu", "es": "Recibo"}


@dataclass
class KioskProcess:
    url: str
    process: subprocess.Popen[bytes]
    state_dir: Path
    log: Path

    def printed(self) -> str:
        path = self.state_dir / "printer" / "receipts.txt"
        return path.read_text() if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    server: Server, terminal: str, *, server_url: str | None = None, **env: str
) -> Iterator[KioskProcess]:
    yield from _start_with(server, terminal, server_url=server_url, **env)


def _start_with(
    server: Server,
    terminal: str,
    *options: str,
    server_url: str | None = None,
    through: str | None = None,
    **env: str,
) -> Iterator[KioskProcess]:
    """`server_url`: a server where the kiosk is not registered; `through`: a relay in
    front of the real server (registered, enrolled through the relay)."""
    code = None
    if server_url is None:
        with server.writer() as db:
            code = registry.register(db, ADMIN, code=terminal, location="City Hall lobby").code
            db.commit()
    port = _free_port()
    # Under the server's folder, so the end-of-run scan for card numbers reads it too.
    state_dir = server.folder / f"kiosk-{terminal}"
    log = server.folder / f"kiosk-{terminal}.log"
    args = [
        sys.executable, "-m", "paydesk.cli", "kiosk",
        "--server", server_url or through or server.base_url,
        "--terminal", terminal, "--port", str(port), "--state-dir", str(state_dir),
    ]  # fmt: skip
    if code:
        args += ["--enrolment-code", code]
    args += options
    environment = os.environ | {"PAYDESK_KIOSK_POLL_SECONDS": "0.3", **env}
    with log.open("ab") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=environment, stdout=out, stderr=out)
    kiosk = KioskProcess(f"http://127.0.0.1:{port}", process, state_dir, log)
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(kiosk.url + "/state.json", timeout=1)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    try:
        yield kiosk
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def kiosk(server: Server) -> Iterator[KioskProcess]:
    yield from _start(server, "KIOSK-E2E")


@pytest.fixture(scope="module")
def idle_kiosk(server: Server) -> Iterator[KioskProcess]:
    yield from _start(
        server,
        "KIOSK-E2E-IDLE",
        PAYDESK_KIOSK_IDLE_SECONDS="2",
        PAYDESK_KIOSK_COUNTDOWN_SECONDS="4",
    )


@pytest.fixture(scope="module")
def broken_kiosk(server: Server) -> Iterator[KioskProcess]:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    yield from _start(server, "KIOSK-E2E-DOWN", server_url=nowhere)


def _two_accounts(server: Server, skip: int) -> list[tuple[str, str, str]]:
    """(account number, access code, a bill's number) of two accounts of two departments,
    each with one open bill; `skip` pairs are left for other tests."""
    with server.db() as db:
        rows = db.execute(
            select(
                Department.id, Account.account_number, Account.access_code, Invoice.invoice_number
            )
            .join(Account, Account.department_id == Department.id)
            .join(Invoice, Invoice.account_id == Account.id)
            .where(
                Account.status == AccountStatus.ACTIVE,
                Invoice.status == InvoiceStatus.OPEN,
                Invoice.amount_paid == 0,
            )
            .order_by(Account.account_number)
        ).all()
    # The portal's journeys each hold a household's tax and water bills: not ours to pay.
    theirs = household_accounts(server)
    by_department: dict[int, list[tuple[str, str, str]]] = {}
    for department, account, code, invoice in rows:
        if account in theirs:
            continue
        seen = {a for a, _, _ in by_department.get(department, [])}
        if account not in seen:
            by_department.setdefault(department, []).append((account, code, invoice))
    first, second = sorted(by_department.values(), key=len, reverse=True)[:2]
    return [first[skip], second[skip]]


def _wait_for_screen(page: Page, path: str) -> None:
    page.wait_for_url(f"**{path}", timeout=WAIT_MS)
    page.wait_for_load_state()


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_a_resident_pays_two_bills_by_keyboard_and_every_screen_passes_axe(
    new_page: NewPage, kiosk: KioskProcess, server: Server, locale: str
) -> None:
    (water, water_code, water_bill), (other, other_code, other_bill) = _two_accounts(
        server, ["en", "fr", "es"].index(locale)
    )
    page = new_page(*SCREEN)
    page.goto(kiosk.url + "/")
    assert_accessible(page)
    activate(page, page.locator(f"button[name=lang][value={locale}]"))
    _wait_for_screen(page, "/find")
    expect(page.locator("html")).to_have_attribute("lang", locale)
    assert_accessible(page)
    for account, code in ((water, water_code), (other, other_code)):
        type_into(page, page.locator("#reference"), account)
        type_into(page, page.locator("#access_code"), code)
        page.keyboard.press("Enter")  # as a barcode scanner ends its input
        _wait_for_screen(page, "/bills")
        assert_accessible(page)
        if account == water:
            activate(page, page.locator("a[href$='/find']"))
            _wait_for_screen(page, "/find")
    expect(page.locator("body")).to_contain_text(water_bill)
    expect(page.locator("body")).to_contain_text(other_bill)
    pay = page.locator("button[value=pay]")
    activate(page, pay)
    _wait_for_screen(page, "/card")
    assert_accessible(page)
    card = page.locator("button[name=card][value=visa]")
    activate(page, card)
    _wait_for_screen(page, "/receipt")
    page.wait_for_selector('body[data-state=""]', timeout=WAIT_MS)
    assert_accessible(page)
    help_button = page.locator("form[action$='/help'] button")
    activate(page, help_button)
    expect(page.locator(".reference")).to_have_text(re.compile(r"S-\d{4}-\d{6}"))
    assert_accessible(page)
    activate(page, page.locator("a.button"))
    _wait_for_screen(page, "/receipt")
    finish = page.locator("form[action$='/finish'] button")
    activate(page, finish)
    _wait_for_screen(page, "/thanks?lang=" + locale)
    assert_accessible(page)
    # The thank-you screen goes back to the welcome screen by itself, with no cookie left.
    page.wait_for_url(kiosk.url + "/", timeout=WAIT_MS * 3)
    assert not [c for c in page.context.cookies() if c["name"] == "paydesk_kiosk"]
    printed = kiosk.printed()
    assert water_bill in printed and other_bill in printed
    assert PRINTED[locale] in printed


def test_are_you_still_there_counts_down_and_wipes_the_visit(
    new_page: NewPage, idle_kiosk: KioskProcess, server: Server
) -> None:
    page = new_page(*SCREEN)
    page.goto(idle_kiosk.url + "/")
    activate(page, page.locator("button[name=lang][value=fr]"))
    _wait_for_screen(page, "/find")
    type_into(page, page.locator("#reference"), "ABC-123")
    dialog = page.locator("#idle")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    expect(dialog).to_contain_text("Êtes-vous toujours là ?")
    stay = page.locator("#idle-stay")
    assert_focus_visible(stay)
    assert_accessible(page)
    page.keyboard.press("Enter")  # "Yes, I need more time"
    expect(dialog).to_be_hidden()
    expect(page.locator("#reference")).to_have_value("ABC-123")
    # Left alone, the countdown runs out: the visit is wiped, the welcome screen is back.
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    page.wait_for_url(idle_kiosk.url + "/", timeout=WAIT_MS * 2)
    assert "ABC-123" not in page.content()
    assert not [c for c in page.context.cookies() if c["name"] == "paydesk_kiosk"]
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0


def test_the_out_of_service_screen_says_so_in_every_language_and_passes_axe(
    new_page: NewPage, broken_kiosk: KioskProcess
) -> None:
    page = new_page(*SCREEN)
    answer = page.goto(broken_kiosk.url + "/")
    assert answer is not None and answer.status == 503
    for text in ("Out of service", "Hors service", "Fuera de servicio"):
        expect(page.locator("h1")).to_contain_text(text)
    assert page.locator("button").count() == 0  # nothing to start, no card taken
    assert_accessible(page)


@pytest.fixture(scope="module")
def paperless_kiosk(server: Server) -> Iterator[KioskProcess]:
    # A printer path where no printer is: every print fails as an unplugged printer does.
    yield from _start_with(server, "KIOSK-E2E-NOPRINT", "--printer", "/dev/null/no-printer")


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_a_card_error_then_a_printer_that_cannot_print_offer_retry_email_and_qr(
    new_page: NewPage, paperless_kiosk: KioskProcess, server: Server, locale: str
) -> None:
    (account, code, _bill), _ = _two_accounts(server, 3 + ["en", "fr", "es"].index(locale))
    page = new_page(*SCREEN)
    page.goto(paperless_kiosk.url + "/")
    activate(page, page.locator(f"button[name=lang][value={locale}]"))
    _wait_for_screen(page, "/find")
    type_into(page, page.locator("#reference"), account)
    type_into(page, page.locator("#access_code"), code)
    page.keyboard.press("Enter")
    _wait_for_screen(page, "/bills")
    activate(page, page.locator("button[value=pay]"))
    _wait_for_screen(page, "/card")
    activate(page, page.locator("button[name=card][value=blocked]"))
    expect(page.locator("[role=alert]")).to_be_visible()
    assert_accessible(page)  # the card error screen
    activate(page, page.locator("form[action$='/card/retry'] button"))
    expect(page.locator("button[name=card][value=visa]")).to_be_visible()
    activate(page, page.locator("button[name=card][value=visa]"))
    _wait_for_screen(page, "/receipt")
    page.wait_for_selector('body[data-state=""]', timeout=WAIT_MS)
    expect(page.locator(".qr img")).to_be_visible()
    assert_accessible(page)  # print failed: the QR code and the email keypad
    # The address on the on-screen keyboard, key by key, by keyboard alone: each key
    # pressed keeps the focus, so the next is a few Tabs away, not the whole page.
    typed = ""
    for key in "ana@example.org":
        activate(page, page.locator(f"button.key[value='{key}']"))
        typed += key
        expect(page.locator("#email")).to_have_value(typed)
    activate(page, page.locator("button[value=send]"))
    expect(page.locator(".success")).to_contain_text("ana@example.org")
    assert_accessible(page)


@pytest.fixture(scope="module")
def relay(server: Server) -> Iterator[Relay]:
    relay = Relay(int(server.base_url.rsplit(":", 1)[1]))
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def relayed_kiosk(server: Server, relay: Relay) -> Iterator[KioskProcess]:
    yield from _start_with(server, "KIOSK-E2E-RELAY", through=relay.url)


def _payments_of(server: Server, bill: str) -> dict[int, PaymentStatus]:
    with server.db() as db:
        rows = db.execute(
            select(Payment.id, Payment.status)
            .join(Allocation, Allocation.payment_id == Payment.id)
            .join(Invoice, Invoice.id == Allocation.invoice_id)
            .where(Invoice.invoice_number == bill)
        ).all()
    return {int(payment_id): status for payment_id, status in rows}


HEADINGS = {
    "declined": {"en": "Payment declined", "fr": "Paiement refusé", "es": "Pago rechazado"},
    "not_charged": {
        "en": "The payment did not go through",
        "fr": "Le paiement n’a pas abouti",
        "es": "El pago no se completó",
    },
    "in_doubt": {
        "en": "Your payment is being confirmed",
        "fr": "Votre paiement est en cours de confirmation",
        "es": "Su pago se está confirmando",
    },
}


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_declined_not_charged_being_confirmed_and_no_receipt_yet_screens_by_keyboard(
    new_page: NewPage, relayed_kiosk: KioskProcess, relay: Relay, server: Server, locale: str
) -> None:
    (account, code, bill), _ = _two_accounts(server, 6 + ["en", "fr", "es"].index(locale))
    before = _payments_of(server, bill)  # the demo's own history of the bill, if any
    relay.uncut()
    relay.up()
    page = new_page(*SCREEN)
    page.goto(relayed_kiosk.url + "/")
    activate(page, page.locator(f"button[name=lang][value={locale}]"))
    _wait_for_screen(page, "/find")
    type_into(page, page.locator("#reference"), account)
    type_into(page, page.locator("#access_code"), code)
    page.keyboard.press("Enter")
    _wait_for_screen(page, "/bills")
    activate(page, page.locator("button[value=pay]"))
    _wait_for_screen(page, "/card")
    heading = page.locator("h1")
    # The bank declines the card: nothing taken, another card is offered.
    activate(page, page.locator("button[name=card][value=declined]"))
    expect(heading).to_have_text(HEADINGS["declined"][locale], timeout=WAIT_MS)
    expect(page.locator("[role=alert]")).to_be_visible()
    assert_accessible(page)
    activate(page, page.locator("form[action$='/card/retry'] button"))
    # The payment's request is lost on the way: the server never saw it, so the kiosk,
    # having asked by its key, says nothing was charged.
    relay.cut("POST /api/v1/kiosk/payments ")
    activate(page, page.locator("button[name=card][value=visa]"))
    expect(heading).to_have_text(HEADINGS["not_charged"][locale], timeout=WAIT_MS)
    relay.uncut()
    assert_accessible(page)
    activate(page, page.locator("form[action$='/card/retry'] button"))
    # The answer is lost and the network stays down: "being confirmed" until it is back.
    relay.lose_next_payment()
    activate(page, page.locator("button[name=card][value=visa]"))
    expect(heading).to_have_text(HEADINGS["in_doubt"][locale], timeout=WAIT_MS)
    assert page.locator("button").filter(has_text=re.compile("visa", re.I)).count() == 0
    assert_accessible(page)
    # Back, but the receipt cannot be fetched: approved, the transaction number to keep.
    relay.cut("GET /api/v1/kiosk/receipts/")
    relay.up()
    _wait_for_screen(page, "/receipt")
    page.wait_for_selector('body[data-state=""]', timeout=WAIT_MS)
    expect(page.locator("[role=alert]")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("TX-")
    relay.uncut()
    assert_accessible(page)
    activate(page, page.locator("form[action$='/finish'] button"))
    _wait_for_screen(page, "/thanks?lang=" + locale)
    # One charge for the bill: the declined attempt and the one never sent took nothing.
    assert sorted(_payments_of(server, bill).values()) == sorted(
        [*before.values(), PaymentStatus.DECLINED, PaymentStatus.POSTED]
    )


@pytest.mark.parametrize(
    ("card", "locale", "told"),
    [
        ("timeout_approved", "es", "Pago aprobado"),
        ("timeout_declined", "fr", "Paiement refusé"),
    ],
)
def test_a_bank_that_answers_too_late_shows_being_confirmed_then_the_answer(
    new_page: NewPage,
    relayed_kiosk: KioskProcess,
    relay: Relay,
    server: Server,
    card: str,
    locale: str,
    told: str,
) -> None:
    (account, code, _bill), _ = _two_accounts(server, 9 + ["es", "fr"].index(locale))
    relay.uncut()
    relay.up()
    page = new_page(*SCREEN)
    page.goto(relayed_kiosk.url + "/")
    activate(page, page.locator(f"button[name=lang][value={locale}]"))
    _wait_for_screen(page, "/find")
    type_into(page, page.locator("#reference"), account)
    type_into(page, page.locator("#access_code"), code)
    page.keyboard.press("Enter")
    _wait_for_screen(page, "/bills")
    activate(page, page.locator("button[value=pay]"))
    _wait_for_screen(page, "/card")
    # The processor's answer never came; the kiosk cannot ask about it yet either, so the
    # screen stays on "being confirmed" long enough to be checked.
    relay.cut("GET /api/v1/kiosk/payments/by-key/")
    activate(page, page.locator(f"button[name=card][value={card}]"))
    expect(page.locator("h1")).to_have_text(HEADINGS["in_doubt"][locale], timeout=WAIT_MS)
    assert_accessible(page)
    # The server's recovery job has the processor's answer; the kiosk asks and shows it.
    relay.uncut()
    expect(page.locator("h1")).to_have_text(told, timeout=WAIT_MS * 3)
    assert_accessible(page)


@pytest.fixture(scope="module")
def paper_printer() -> Iterator[PtyPrinter]:
    printer = PtyPrinter(EscPosEmulator(42))
    printer.start()
    yield printer
    printer.stop()


@pytest.fixture(scope="module")
def paper_kiosk(server: Server, paper_printer: PtyPrinter) -> Iterator[KioskProcess]:
    yield from _start_with(server, "KIOSK-E2E-PAPER", "--printer", str(paper_printer.path))


def test_a_printer_out_of_paper_offers_the_qr_code_and_email_and_staff_see_it(
    new_page: NewPage, paper_kiosk: KioskProcess, paper_printer: PtyPrinter, server: Server
) -> None:
    (account, code, _bill), _ = _two_accounts(server, 11)
    paper_printer.emulator.run_out_of_paper()
    page = new_page(*SCREEN)
    page.goto(paper_kiosk.url + "/")
    activate(page, page.locator("button[name=lang][value=en]"))
    _wait_for_screen(page, "/find")
    type_into(page, page.locator("#reference"), account)
    type_into(page, page.locator("#access_code"), code)
    page.keyboard.press("Enter")
    _wait_for_screen(page, "/bills")
    activate(page, page.locator("button[value=pay]"))
    _wait_for_screen(page, "/card")
    activate(page, page.locator("button[name=card][value=mastercard]"))
    _wait_for_screen(page, "/receipt")
    page.wait_for_selector('body[data-state=""]', timeout=WAIT_MS)
    expect(page.locator("[role=alert]")).to_contain_text("The receipt printer cannot print")
    expect(page.locator(".qr img")).to_be_visible()
    expect(page.locator("button[value=send]")).to_be_visible()
    assert_accessible(page)
    assert paper_printer.emulator.lines() == []  # nothing came out of it

    def printer_state() -> object:
        with server.db() as db:
            found = registry.by_code(db, "KIOSK-E2E-PAPER")
            return ((found.health or {}) if found else {}).get("printer", {}).get("state")

    deadline = time.monotonic() + 30
    while printer_state() != "paper_out":
        assert time.monotonic() < deadline, "staff never saw the printer out of paper"
        time.sleep(0.2)


def test_killed_mid_payment_the_kiosk_reconciles_before_the_next_resident_and_charged_once(
    new_page: NewPage, relay: Relay, server: Server
) -> None:
    (account, code, bill), _ = _two_accounts(server, 12)
    relay.uncut()
    relay.up()
    relay.payment_answer_dropped.clear()
    terminal = "KIOSK-E2E-KILL"
    first = _start_with(server, terminal, through=relay.url)
    kiosk = next(first)
    page = new_page(*SCREEN)
    page.goto(kiosk.url + "/")
    activate(page, page.locator("button[name=lang][value=en]"))
    _wait_for_screen(page, "/find")
    type_into(page, page.locator("#reference"), account)
    type_into(page, page.locator("#access_code"), code)
    page.keyboard.press("Enter")
    _wait_for_screen(page, "/bills")
    activate(page, page.locator("button[value=pay]"))
    _wait_for_screen(page, "/card")
    # The server charges; its answer is lost, and the kiosk is killed before it knows.
    relay.lose_next_payment()
    activate(page, page.locator("button[name=card][value=visa]"))
    assert relay.payment_answer_dropped.wait(WAIT_MS / 1000 * 4), kiosk.log.read_text()
    expect(page.locator("h1")).to_have_text(HEADINGS["in_doubt"]["en"], timeout=WAIT_MS)
    kiosk.process.kill()
    kiosk.process.wait(timeout=10)
    first.close()
    with sqlite3.connect(kiosk.state_dir / "journal.sqlite3") as journal:
        ((key, state),) = journal.execute("SELECT idempotency_key, state FROM attempts").fetchall()
    assert state in ("sending", "in_doubt")
    # Restarted with the network back: it reconciles, then the next resident is welcomed.
    relay.up()
    again = _start_with(server, terminal, server_url=relay.url)
    restarted = next(again)
    try:
        page.goto(restarted.url + "/")
        deadline = time.monotonic() + 30
        while page.locator("button[name=lang]").count() == 0:
            assert time.monotonic() < deadline, restarted.log.read_text()
            page.wait_for_timeout(300)
            page.goto(restarted.url + "/")
        assert bill not in page.content()
        assert_accessible(page)
        with sqlite3.connect(restarted.state_dir / "journal.sqlite3") as journal:
            rows = journal.execute("SELECT idempotency_key, state FROM attempts").fetchall()
        assert rows == [(key, "approved")]
        with server.db() as db:
            charged = db.scalars(select(Payment).where(Payment.idempotency_key == key)).all()
            assert len(charged) == 1
            assert charged[0].status in (PaymentStatus.POSTED, PaymentStatus.SETTLED)
    finally:
        again.close()


def test_staff_find_the_kiosk_payment_with_its_terminal(
    new_page: NewPage, kiosk: KioskProcess
) -> None:
    with sqlite3.connect(kiosk.state_dir / "journal.sqlite3") as journal:
        rows = journal.execute(
            "SELECT transaction_id FROM attempts WHERE state = 'approved'"
        ).fetchall()
    if not rows:
        pytest.skip("runs after a kiosk journey has paid (same module)")
    transaction = str(rows[0][0])
    page = new_page(*SCREEN)
    hands = Hands(page)
    sign_in(hands, "agent")
    page.goto(f"/staff/search?q={transaction}")
    expect(page.locator("main")).to_contain_text(transaction)
    expect(page.locator("main")).to_contain_text("KIOSK-E2E")
