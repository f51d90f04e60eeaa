"""The kiosk runtime (`kiosk/`) with real device plumbing, beside the reader tests whose
pcscd it shares: pcscd with the virtual reader (vpcd) and an EMV
card emulator behind it, the ESC/POS driver on an emulated serial printer (a pty), and
the real server. A resident pays two bills of two departments in French; the printer's
bytes decode to the receipt with its number, both bills and the accents right."""

from __future__ import annotations

import sqlite3

import pytest

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
