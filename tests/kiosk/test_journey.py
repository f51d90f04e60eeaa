"""A resident pays at the kiosk: language, bill look-up, card, receipt, and a clean slate."""

from __future__ import annotations

from tests.kiosk.conftest import Kiosks, Server


def test_a_resident_pays_two_bills_in_french_and_takes_a_receipt(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    water, _parking = server.bills([4500, 1250])
    kiosk.begin("en")
    found = kiosk.find(water.account.account_number, "4821")
    assert found.status_code == 200, found.text
    assert water.invoice_number in found.text
    card = kiosk.pay([water.invoice_number])
    assert "Insert or tap your card" in card.text
    kiosk.reader.insert("visa")
    kiosk.wait_for_state("printed")
    receipt = kiosk.client.get("/receipt")
    assert "Payment approved" in receipt.text
    printed = (kiosk.settings.state_dir / "printer" / "receipts.txt").read_text()
    assert water.invoice_number in printed
