"""Choose a printer driver from the kiosk's printer setting."""

from __future__ import annotations

from kiosk_devices.printer.escpos import EscPosPrinter
from kiosk_devices.printer.file import FilePrinter
from kiosk_devices.printer.profile import PrinterProfile
from kiosk_devices.printer.protocol import ReceiptPrinter

FILE_SCHEME = "file:"


def open_printer(target: str, profile: PrinterProfile) -> ReceiptPrinter:
    """A printer for `target`: `file:PATH` writes files, anything else is a device
    path or pyserial URL (`/dev/ttyUSB0`, `socket://10.0.0.5:9100`, `rfc2217://…`).

    Nothing is opened yet; the device opens on the first call.
    """
    if target.startswith(FILE_SCHEME):
        return FilePrinter(target.removeprefix(FILE_SCHEME), profile)
    return EscPosPrinter(target, profile)
