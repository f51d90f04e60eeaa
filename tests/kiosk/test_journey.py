"""A resident pays at the kiosk: language, bill look-up, card, receipt, and a clean slate."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from tests.kiosk.conftest import Kiosk, Kiosks, Server
from tests.support.pci import card_numbers_in, card_numbers_in_files


def _attempts(kiosk: Kiosk) -> list[str]:
    with sqlite3.connect(kiosk.settings.journal_path) as db:
        return [str(key) for (key,) in db.execute("SELECT idempotency_key FROM attempts")]


def test_a_resident_pays_two_bills_in_french_and_takes_a_receipt(
    kiosks: Kiosks, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kiosk = kiosks.start()
    water, parking = server.bills([4500, 1250])  # two accounts, two departments
    kiosk.begin("fr")
    found = kiosk.find(water.account.account_number, "4821")
    assert found.status_code == 200, found.text
    assert water.invoice_number in found.text
    assert "Ajouter une facture d’un autre compte" in found.text
    both = kiosk.find(parking.account.account_number, "4821")
    assert water.invoice_number in both.text
    assert parking.invoice_number in both.text
    assert "2 factures choisies, total 57,50" in both.text
    card = kiosk.pay([water.invoice_number, parking.invoice_number])
    assert "Insérez ou approchez votre carte" in card.text
    assert "57,50" in card.text
    kiosk.reader.insert("visa")
    kiosk.wait_for_state("printed")
    kiosk.reader.remove()
    receipt = kiosk.client.get("/receipt")
    assert "Paiement approuvé" in receipt.text
    printed = (kiosk.settings.state_dir / "printer" / "receipts.txt").read_text()
    assert water.invoice_number in printed
    assert parking.invoice_number in printed
    assert "Reçu" in printed
    # One payment for both bills, and the card number nowhere the kiosk writes.
    (attempt,) = [a for a in _attempts(kiosk)]
    assert len(server.payments_by_key(attempt)) == 1
    assert card_numbers_in_files(sorted(kiosk.settings.state_dir.rglob("*"))) == {}
    assert card_numbers_in("\n".join(caplog.messages).encode()) == []
