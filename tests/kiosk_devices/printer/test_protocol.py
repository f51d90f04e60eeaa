"""Contract tests every `ReceiptPrinter` passes: the serial driver and the file driver."""

from collections.abc import Callable

import pytest

from kiosk_devices.printer import PrinterProfile, PrinterStatus, ReceiptPrinter
from shared.receipts.layout import ReceiptLayout, render_text

from .conftest import RECEIPT_URL, Rig, french_receipt, spanish_receipt

RigFor = Callable[[PrinterProfile], Rig]


def test_is_a_receipt_printer(rig_for: RigFor) -> None:
    assert isinstance(rig_for(PrinterProfile()).printer, ReceiptPrinter)


@pytest.mark.parametrize("width", [42, 48])
def test_prints_the_layout_as_its_text_rendering_then_cuts(rig_for: RigFor, width: int) -> None:
    rig = rig_for(PrinterProfile(width=width, qr=False))
    rig.printer.print_receipt(french_receipt())
    assert rig.paper().page() == [*render_text(french_receipt(), width), "[CUT]"]


def test_prints_the_qr_symbol_with_the_url(rig_for: RigFor) -> None:
    rig = rig_for(PrinterProfile(qr=True))
    rig.printer.print_receipt(spanish_receipt())
    assert [qr.data for qr in rig.paper().qr_codes()] == [RECEIPT_URL.encode()]


def test_receipts_follow_each_other_on_the_roll(rig_for: RigFor) -> None:
    rig = rig_for(PrinterProfile())
    rig.printer.print_receipt(french_receipt())
    rig.printer.print_receipt(spanish_receipt())
    page = rig.paper().page()
    assert page.count("[CUT]") == 2
    assert page.index("[CUT]") < next(i for i, line in enumerate(page) if "Logroño" in line)


def test_empty_layout_still_cuts(rig_for: RigFor) -> None:
    rig = rig_for(PrinterProfile())
    rig.printer.print_receipt(ReceiptLayout())
    assert rig.paper().page() == ["[CUT]"]


def test_status_of_a_ready_printer(rig_for: RigFor) -> None:
    assert rig_for(PrinterProfile()).printer.status() == PrinterStatus.ready()


def test_close_twice_then_use_again(rig_for: RigFor) -> None:
    rig = rig_for(PrinterProfile())
    rig.printer.close()
    rig.printer.close()
    rig.printer.print_receipt(french_receipt())
    assert rig.printer.status().can_print
    assert rig.paper().cuts() == 1
