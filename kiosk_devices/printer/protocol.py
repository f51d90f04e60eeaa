"""The receipt printer as the kiosk runtime sees it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kiosk_devices.printer.status import PrinterStatus
from shared.receipts.layout import ReceiptLayout


@runtime_checkable
class ReceiptPrinter(Protocol):
    """A receipt printer: print a layout and cut, report status, release the device.

    Implementations: `EscPosPrinter` (serial, USB-serial or `socket://` network
    printers) and `FilePrinter` (demo: writes the job to files). Every failure
    is a `PrinterError` subclass with a stable `code` and a `message` for the
    kiosk screen.
    """

    def print_receipt(self, layout: ReceiptLayout) -> None:
        """Print `layout` and cut (or feed to the tear bar) when done.

        Checks status first and raises the matching error (`PrinterNoAnswer`,
        `PaperOut`, `CoverOpen`, `PrinterFault`, `PrinterOffline`) without
        printing anything; raises `CannotOpenDevice` when the device cannot be
        opened; raises `PrintIncomplete` when printing started but could not be
        confirmed finished, so the kiosk can tell the person.
        """
        ...

    def status(self) -> PrinterStatus:
        """Ask the printer how it is; a printer that does not answer gives `no_answer`.

        Raises `CannotOpenDevice` only when the device cannot be opened at all.
        """
        ...

    def close(self) -> None:
        """Release the device; safe to call twice. A later call opens it again."""
        ...
