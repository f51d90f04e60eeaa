"""The kiosk runtime (`kiosk/`) with real device plumbing, beside the reader tests whose
pcscd it shares: pcscd with the virtual reader (vpcd) and an EMV
card emulator behind it, the ESC/POS driver on an emulated serial printer (a pty), and
the real server. A resident pays two bills of two departments in French; the printer's
bytes decode to the receipt with its number, both bills and the accents right. Once
through the screens' HTTP, once in Chromium by keyboard (with axe-core on the receipt
screen)."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from e2e.axe import assert_accessible
from e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from e2e.keyboard import activate, type_into
from kiosk.app import KioskApp
from kiosk.devices import Devices
from kiosk.settings import KioskSettings
from kiosk_devices.card_reader.pcsc import PcscCardReader
from kiosk_devices.printer import EscPosPrinter, PrinterProfile
from tests.kiosk.conftest import Kiosk, Kiosks, Server, kiosks, server  # noqa: F401 (fixtures)
from tests.kiosk_devices.card_reader.card_reader_support import CardSlot
from tests.kiosk_devices.card_reader.card_reader_vicc import VPCD_READER
from tests.kiosk_devices.printer.emulator import EscPosEmulator
from tests.kiosk_devices.printer.transports import PtyPrinter

pytestmark = [pytest.mark.devices, pytest.mark.slow]


def test_two_bills_in_french_through_pcscd_and_the_serial_printer(
    kiosks: Kiosks,  # noqa: F811 (the fixture imported above)
    server: Server,  # noqa: F811
    card_slot: CardSlot,
) -> None:
    emulated = PtyPrinter(EscPosEmulator(42))
    emulated.start()
    try:
        printer = EscPosPrinter(emulated.path, PrinterProfile(), print_timeout=10.0)
        kiosk = kiosks.start(printer=printer, reader=PcscCardReader(VPCD_READER))
        water, parking = server.bills([4500, 1250])
        kiosk.begin("fr")
        kiosk.find(water.account.account_number, "4821")
        kiosk.find(parking.account.account_number, "4821")
        card = kiosk.pay([water.invoice_number, parking.invoice_number])
        assert "Insérez ou approchez votre carte" in card.text
        card_slot.insert("mastercard_no_pdol")
        kiosk.wait_for_state("printed", timeout=30)
        receipt = kiosk.client.get("/receipt").text
        assert "Paiement approuvé" in receipt
        (key,) = _keys(kiosk)
        attempt = kiosk.service.journal.get(key)
        assert attempt is not None and attempt.receipt_number
        assert len(server.payments_by_key(key)) == 1
        page = "\n".join(emulated.emulator.page())
        assert attempt.receipt_number in page
        assert water.invoice_number in page and parking.invoice_number in page
        assert "Reçu" in page
        assert "45,00 $" in page and "12,50 $" in page and "57,50 $" in page
        assert "[CUT]" in page
    finally:
        emulated.stop()


def _keys(kiosk: Kiosk) -> list[str]:
    with sqlite3.connect(kiosk.settings.journal_path) as db:
        return [str(k) for (k,) in db.execute("SELECT idempotency_key FROM attempts")]


@contextmanager
def _kiosk_on_loopback(app: KioskApp) -> Iterator[str]:
    """The kiosk under uvicorn (its lifespan on: the service, heartbeat and payments run
    in uvicorn's loop), for Chromium."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app.asgi(), log_config=None, lifespan="on", ws="none")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not served.started:
            assert time.monotonic() < deadline, "the kiosk did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        served.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium")
def test_a_resident_pays_two_bills_in_french_in_chromium_with_a_real_reader_and_printer(
    server: Server,  # noqa: F811
    card_slot: CardSlot,
    tmp_path: Path,
) -> None:
    water, parking = server.bills([4500, 1250])
    emulated = PtyPrinter(EscPosEmulator(42))
    emulated.start()
    settings = KioskSettings(
        server_url=server.url,
        terminal="KIOSK-CHROMIUM",
        state_dir=tmp_path / "kiosk",
        enrolment_code=server.enrolment_code("KIOSK-CHROMIUM"),
        poll_seconds=0.3,
    )
    printer = EscPosPrinter(emulated.path, PrinterProfile(), print_timeout=10.0)
    app = KioskApp(settings, Devices(PcscCardReader(VPCD_READER), printer))
    try:
        with _kiosk_on_loopback(app) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1024})
            page.set_default_timeout(15_000)
            page.goto(url + "/")
            activate(page, page.locator("button[name=lang][value=fr]"))
            page.wait_for_url("**/find")
            for account in (water.account.account_number, parking.account.account_number):
                type_into(page, page.locator("#reference"), account)
                type_into(page, page.locator("#access_code"), "4821")
                page.keyboard.press("Enter")
                page.wait_for_url("**/bills")
                if account == water.account.account_number:
                    activate(page, page.locator("a[href$='/find']"))
                    page.wait_for_url("**/find")
            activate(page, page.locator("button[value=pay]"))
            page.wait_for_url("**/card")
            assert "Insérez ou approchez votre carte" in page.content()
            card_slot.insert("mastercard_no_pdol")
            page.wait_for_url("**/receipt", timeout=30_000)
            page.wait_for_selector('body[data-state=""]', timeout=30_000)
            assert "Paiement approuvé" in page.content()
            assert_accessible(page)
            browser.close()
    finally:
        emulated.stop()
    printed = "\n".join(emulated.emulator.page())
    (key,) = _keys_of(settings)
    (payment,) = server.payments_by_key(key)
    assert payment.terminal_id is not None  # staff see the kiosk that took it
    with sqlite3.connect(settings.journal_path) as db:
        (number,) = db.execute(
            "SELECT receipt_number FROM attempts WHERE idempotency_key = ?", (key,)
        ).fetchone()
    assert number and number in printed
    assert water.invoice_number in printed and parking.invoice_number in printed
    assert "Reçu" in printed and "57,50 $" in printed


def _keys_of(settings: KioskSettings) -> list[str]:
    with sqlite3.connect(settings.journal_path) as db:
        return [str(k) for (k,) in db.execute("SELECT idempotency_key FROM attempts")]
