"""ESC/POS receipt printer drivers for the kiosk."""

from kiosk_devices.printer.encoder import encode_receipt, render_receipt_text
from kiosk_devices.printer.errors import (
    CannotOpenDevice,
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterNoAnswer,
    PrinterOffline,
    PrintIncomplete,
    error_for_status,
)
from kiosk_devices.printer.escpos import EscPosPrinter
from kiosk_devices.printer.factory import open_printer
from kiosk_devices.printer.file import FilePrinter
from kiosk_devices.printer.profile import CodePage, PrinterProfile
from kiosk_devices.printer.protocol import ReceiptPrinter
from kiosk_devices.printer.status import PrinterStatus

__all__ = [
    "CannotOpenDevice",
    "CodePage",
    "CoverOpen",
    "EscPosPrinter",
    "FilePrinter",
    "PaperOut",
    "PrintIncomplete",
    "PrinterError",
    "PrinterFault",
    "PrinterNoAnswer",
    "PrinterOffline",
    "PrinterProfile",
    "PrinterStatus",
    "ReceiptPrinter",
    "encode_receipt",
    "error_for_status",
    "open_printer",
    "render_receipt_text",
]
