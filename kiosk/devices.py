"""The kiosk's card reader and receipt printer, through kiosk_devices.

The drivers block, so every call runs in a worker thread. Health is reported in the
kiosk API's heartbeat shapes (`reader.state`, `printer.state`), and the same states
decide whether the kiosk is in service: no reader or no PC/SC service takes the kiosk
out of service (it cannot take a card); a printer that cannot print does not (the
resident is offered the receipt by email or as a QR code, and staff are alerted).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

from kiosk_devices.card_reader import (
    CardData,
    CardReader,
    CardReaderError,
    NoReaderError,
    PcscUnavailableError,
    TerminalData,
    WaitCancelledError,
    open_card_reader,
)
from kiosk_devices.printer import (
    CannotOpenDevice,
    PrinterError,
    PrinterProfile,
    PrinterStatus,
    ReceiptPrinter,
    open_printer,
)
from shared.receipts.layout import ReceiptLayout

SIMULATED = "simulated"
# ISO 4217 numeric code of the currency and ISO 3166-1 numeric of the country the card
# is told about (EMV tags 5F2A and 9F1A), by the deployment's currency.
EMV_CODES = {"CAD": (124, 124), "USD": (840, 840), "EUR": (978, 250), "GBP": (826, 826)}
# How long the insert screen waits for a card before the resident is asked again.
CARD_WAIT_SECONDS = 60.0
# The whole EMV read, once a card is in: a card that stops answering ends it.
READ_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    state: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"state": self.state, "detail": self.detail}


def reader_health(reader: CardReader) -> DeviceHealth:
    health = reader.health()
    if not health.pcscd_reachable:
        return DeviceHealth("no_service", "the PC/SC service (pcscd) is not reachable")
    if not health.reader_present:
        return DeviceHealth("no_reader", "no card reader is connected")
    if health.error_code:
        return DeviceHealth("error", health.error_code)
    return DeviceHealth("ok")


def printer_health_of(status: PrinterStatus) -> DeviceHealth:
    if status.no_answer:
        return DeviceHealth("offline", "the printer does not answer")
    if status.cover_open:
        return DeviceHealth("cover_open", "the printer's cover is open")
    if status.paper_out:
        return DeviceHealth("paper_out", "the printer is out of paper")
    if status.fault:
        return DeviceHealth("error", "the printer reports a fault")
    if not status.online:
        return DeviceHealth("offline", "the printer is offline")
    if status.paper_near_end:
        return DeviceHealth("paper_near_end", "the paper roll is nearly empty")
    return DeviceHealth("ok")


def printer_health_of_error(error: PrinterError) -> DeviceHealth:
    states = {
        "paper_out": "paper_out",
        "cover_open": "cover_open",
        "printer_offline": "offline",
        "printer_no_answer": "offline",
        "cannot_open_device": "offline",
    }
    return DeviceHealth(states.get(error.code, "error"), error.code)


class Devices:
    """The reader and printer of one kiosk, with the last printer state seen."""

    def __init__(self, reader: CardReader, printer: ReceiptPrinter) -> None:
        self.reader = reader
        self.printer = printer
        # A failed print says more than a status poll (paper ran out mid-receipt): it
        # stands until a status poll finds the printer ready again.
        self.printer_problem: DeviceHealth | None = None

    @classmethod
    def open(cls, reader: str, printer: str, state_dir: Path, width: int = 42) -> Devices:
        card_reader = (
            open_card_reader("simulated")
            if reader == SIMULATED
            else open_card_reader("pcsc", reader_name=reader or None)
        )
        target = f"file:{state_dir / 'printer' / 'receipts'}" if printer == SIMULATED else printer
        return cls(card_reader, open_printer(target, PrinterProfile(width=width)))

    async def reader_health(self) -> DeviceHealth:
        return await anyio.to_thread.run_sync(reader_health, self.reader)

    def _printer_health(self) -> DeviceHealth:
        try:
            health = printer_health_of(self.printer.status())
        except CannotOpenDevice as error:
            health = printer_health_of_error(error)
        except PrinterError as error:
            health = printer_health_of_error(error)
        if health.state in ("ok", "paper_near_end"):
            self.printer_problem = None
        elif self.printer_problem is None:
            self.printer_problem = health
        return health

    async def printer_health(self) -> DeviceHealth:
        return await anyio.to_thread.run_sync(self._printer_health)

    async def print_receipt(self, layout: ReceiptLayout) -> DeviceHealth | None:
        """Print; None when it printed, else the printer's state (for the screen and staff)."""
        try:
            await anyio.to_thread.run_sync(self.printer.print_receipt, layout)
        except PrinterError as error:
            problem = printer_health_of_error(error)
            cause = getattr(error, "cause", None)
            if isinstance(cause, PrinterError):
                problem = printer_health_of_error(cause)
            self.printer_problem = problem
            return problem
        return None

    def close(self) -> None:
        with contextlib.suppress(PrinterError, OSError):
            self.printer.close()


class CardReadCancelled(Exception):
    """The resident pressed cancel (or the session ended) before the card was read."""


def terminal_data(amount_minor: int, currency: str) -> TerminalData:
    currency_code, country_code = EMV_CODES.get(currency, (0, 0))
    return TerminalData(
        amount_minor=amount_minor,
        currency_numeric=currency_code,
        country_numeric=country_code,
        transaction_date=dt.datetime.now(dt.UTC).date(),
    )


def read_card_blocking(
    reader: CardReader,
    terminal: TerminalData,
    cancel: threading.Event,
    on_card: Any,
    timeout: float = CARD_WAIT_SECONDS,
) -> CardData:
    """Wait for a card, then read it; `on_card()` is called once a card is present.

    Raises `CardReadCancelled` when `cancel` is set (a card read that finishes after the
    cancel is wiped, never returned), and `CardReaderError` for the reader's failures.
    """
    try:
        name = reader.wait_for_card(timeout=timeout, cancel=cancel)
    except WaitCancelledError as exc:
        raise CardReadCancelled() from exc
    on_card()
    try:
        card = reader.read_card(terminal, reader=name, timeout=READ_SECONDS, cancel=cancel)
    except WaitCancelledError as exc:
        raise CardReadCancelled() from exc
    if cancel.is_set():
        card.wipe()
        raise CardReadCancelled()
    return card


__all__ = [
    "CardReadCancelled",
    "CardReaderError",
    "DeviceHealth",
    "Devices",
    "NoReaderError",
    "PcscUnavailableError",
    "read_card_blocking",
    "terminal_data",
]
