from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk_devices.printer import EscPosPrinter, FilePrinter, PrinterProfile, ReceiptPrinter
from shared.receipts.layout import (
    Align,
    Blank,
    Columns,
    QrCode,
    ReceiptLayout,
    Rule,
    Text,
)

from .emulator import EscPosEmulator
from .transports import PluggablePrinter, PtyPrinter, TcpPrinter

# Healthy answers arrive in microseconds; these only bound the waits when a
# test makes the printer silent or stop mid-job.
STATUS_TIMEOUT = 2.0
SILENT_STATUS_TIMEOUT = 0.2
PRINT_TIMEOUT = 5.0

RECEIPT_URL = "https://paydesk.example.gov/r/2025-000123?c=9F2A"


def french_receipt() -> ReceiptLayout:
    return ReceiptLayout(
        (
            Text("Mairie de Sète", Align.CENTER, bold=True),
            Text("Reçu de paiement", Align.CENTER),
            Rule(),
            Columns("Redevance d'enlèvement des ordures", "45,00 €"),
            Columns("Accès à la médiathèque", "12,50 €"),
            Columns("Total payé", "57,50 €", bold=True),
            Rule("="),
            Text("Payé par carte à la borne n° 3. Conservez ce reçu, merci !"),
            Blank(),
            QrCode(RECEIPT_URL, caption="Vérifiez ce reçu :"),
        )
    )


def spanish_receipt() -> ReceiptLayout:
    return ReceiptLayout(
        (
            Text("Ayuntamiento de Logroño", Align.CENTER, bold=True),
            Text("¡Gracias por su pago!", Align.CENTER),
            Rule(),
            Columns("Licencia de obra menor (año 2025)", "120,00 €"),
            Columns("Tasa de basura", "35,75 €"),
            Columns("Total", "155,75 €", bold=True),
            Text("¿Preguntas? Diríjase a la ventanilla de atención."),
            QrCode(RECEIPT_URL, caption="Verifique su recibo:"),
        )
    )


@pytest.fixture
def pty_printer() -> Iterator[Callable[..., PtyPrinter]]:
    """Start emulated serial printers on pseudo-terminals; all stop at teardown."""
    started: list[PtyPrinter] = []

    def start(columns: int = 42) -> PtyPrinter:
        printer = PtyPrinter(EscPosEmulator(columns))
        printer.start()
        started.append(printer)
        return printer

    yield start
    for printer in started:
        printer.stop()


@pytest.fixture
def pluggable_printer(tmp_path: Path) -> Iterator[PluggablePrinter]:
    """An emulated USB-serial printer at a stable path, plugged in; unplugged at teardown."""
    printer = PluggablePrinter(EscPosEmulator(42), str(tmp_path / "ttyUSB-receipt"))
    printer.plug_in()
    yield printer
    printer.unplug()


@pytest.fixture
def tcp_printer() -> Iterator[TcpPrinter]:
    with TcpPrinter(EscPosEmulator(48)) as printer:
        yield printer


@pytest.fixture
def escpos_driver() -> Iterator[Callable[..., EscPosPrinter]]:
    """Make drivers with test-sized timeouts; all close at teardown (before the emulators)."""
    made: list[EscPosPrinter] = []

    def make(
        url: str,
        profile: PrinterProfile,
        *,
        status_timeout: float = STATUS_TIMEOUT,
        print_timeout: float = PRINT_TIMEOUT,
    ) -> EscPosPrinter:
        driver = EscPosPrinter(
            url, profile, status_timeout=status_timeout, print_timeout=print_timeout
        )
        made.append(driver)
        return driver

    yield make
    for driver in made:
        driver.close()


@dataclass
class Rig:
    """A driver under contract test and a way to see the paper it produced."""

    printer: ReceiptPrinter
    paper: Callable[[], EscPosEmulator]


@pytest.fixture(params=["escpos", "file"])
def rig_for(
    request: pytest.FixtureRequest,
    pty_printer: Callable[..., PtyPrinter],
    escpos_driver: Callable[..., EscPosPrinter],
    tmp_path: Path,
) -> Callable[[PrinterProfile], Rig]:
    """Both drivers behind one interface; the file driver's bytes go through the emulator."""

    def make(profile: PrinterProfile) -> Rig:
        if request.param == "escpos":
            device = pty_printer(profile.width)
            return Rig(escpos_driver(device.path, profile), lambda: device.emulator)
        printer = FilePrinter(tmp_path / "roll.bin", profile)

        def decode() -> EscPosEmulator:
            emulator = EscPosEmulator(profile.width)
            emulator.receive(printer.bin_path.read_bytes())
            return emulator

        return Rig(printer, decode)

    return make
