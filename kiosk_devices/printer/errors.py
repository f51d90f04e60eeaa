"""Typed printer errors a kiosk can show: a stable `code` and a plain-English `message`.

The kiosk translates by `code`; `message` is the English wording for the screen
and `detail` is for the log only (it may name devices or OS errors).
"""

from __future__ import annotations

from typing import ClassVar

from kiosk_devices.printer.status import PrinterStatus


class PrinterError(Exception):
    """Base class: something stopped a receipt from printing."""

    code: ClassVar[str] = "printer_error"
    message: ClassVar[str] = "The receipt printer is not working."

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else f"{self.code}: {self.message}")


class CannotOpenDevice(PrinterError):
    """The device path or URL could not be opened (unplugged, wrong path, host unreachable)."""

    code: ClassVar[str] = "cannot_open_device"
    message: ClassVar[str] = "The receipt printer cannot be reached."


class PrinterOffline(PrinterError):
    """The printer answered but says it is offline, for no more specific reason."""

    code: ClassVar[str] = "printer_offline"
    message: ClassVar[str] = "The receipt printer is offline."


class PrinterNoAnswer(PrinterOffline):
    """The printer did not answer a status request in time (off, disconnected, or busy)."""

    code: ClassVar[str] = "printer_no_answer"
    message: ClassVar[str] = "The receipt printer is not responding."


class PaperOut(PrinterError):
    code: ClassVar[str] = "paper_out"
    message: ClassVar[str] = "The receipt printer is out of paper."


class CoverOpen(PrinterError):
    code: ClassVar[str] = "cover_open"
    message: ClassVar[str] = "The receipt printer cover is open."


class PrinterFault(PrinterError):
    """A cutter jam or mechanical error; needs a person to clear it."""

    code: ClassVar[str] = "printer_fault"
    message: ClassVar[str] = "The receipt printer has a fault and needs attention."


class PrintIncomplete(PrinterError):
    """Printing started but cannot be confirmed finished; `cause` says why when known."""

    code: ClassVar[str] = "print_incomplete"
    message: ClassVar[str] = "The receipt did not finish printing."

    def __init__(self, cause: PrinterError | None = None, detail: str = "") -> None:
        self.cause = cause
        if not detail and cause is not None:
            detail = f"{cause.code}: {cause.detail or cause.message}"
        super().__init__(detail)


def error_for_status(status: PrinterStatus) -> PrinterError | None:
    """The error that stops printing in this state, or None when the printer can print.

    Order matters: a printer with its cover open also reports itself offline
    (and often "paper out", as the sensor sees no paper), and the most specific
    cause is what a person can fix.
    """
    if status.no_answer:
        return PrinterNoAnswer()
    if status.cover_open:
        return CoverOpen()
    if status.paper_out:
        return PaperOut()
    if status.fault:
        return PrinterFault()
    if not status.online:
        return PrinterOffline()
    return None
