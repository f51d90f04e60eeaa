"""The serial driver against the emulated printer on a real pseudo-terminal."""

from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk_devices.printer import (
    CannotOpenDevice,
    CodePage,
    CoverOpen,
    EscPosPrinter,
    PaperOut,
    PrinterFault,
    PrinterNoAnswer,
    PrinterProfile,
    PrinterStatus,
    PrintIncomplete,
)
from shared.receipts.layout import ReceiptLayout, render_text

from .conftest import (
    RECEIPT_URL,
    SILENT_STATUS_TIMEOUT,
    STATUS_TIMEOUT,
    french_receipt,
    spanish_receipt,
)
from .emulator import EscPosEmulator
from .transports import PluggablePrinter, PtyPrinter, TcpPrinter

MakeDevice = Callable[..., PtyPrinter]
MakeDriver = Callable[..., EscPosPrinter]

# A job that stops midway is never confirmed; this bounds the wait for the confirmation.
MIDWAY_PRINT_TIMEOUT = 0.3


def nothing_printed(emulator: EscPosEmulator) -> bool:
    return emulator.paper == [] and emulator.processed == 0


@pytest.mark.parametrize("width", [42, 48])
@pytest.mark.parametrize("page", list(CodePage))
def test_prints_french_receipt_with_accents_alignment_qr_and_cut(
    pty_printer: MakeDevice, escpos_driver: MakeDriver, width: int, page: CodePage
) -> None:
    device = pty_printer(width)
    profile = PrinterProfile(width=width, code_page=page)
    escpos_driver(device.path, profile).print_receipt(french_receipt())

    emulator = device.emulator
    without_qr = ReceiptLayout(french_receipt().blocks[:-1])
    expected = [*render_text(without_qr, width), "Vérifiez ce reçu :", f"[QR] {RECEIPT_URL}"]
    assert emulator.page() == [*expected, "[CUT]"]
    assert emulator.auto_wraps == 0
    assert emulator.unknown == []
    total = next(line for line in emulator.lines() if line.text.startswith("Total payé"))
    assert total.bold
    assert total.text.endswith("57,50 €")
    assert len(total.text) == width


def test_prints_spanish_receipt_without_qr_support(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer(48)
    profile = PrinterProfile(width=48, code_page=CodePage.CP1252, qr=False)
    escpos_driver(device.path, profile).print_receipt(spanish_receipt())

    page = device.emulator.page()
    assert page == [*render_text(spanish_receipt(), 48), "[CUT]"]
    assert "¡Gracias por su pago!".center(48).rstrip() in page
    assert RECEIPT_URL in page
    assert device.emulator.qr_codes() == []


def test_status_of_a_ready_printer(pty_printer: MakeDevice, escpos_driver: MakeDriver) -> None:
    device = pty_printer()
    assert escpos_driver(device.path, PrinterProfile()).status() == PrinterStatus.ready()
    assert device.emulator.status_requests == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (EscPosEmulator.paper_low, PrinterStatus(online=True, paper_near_end=True)),
        (EscPosEmulator.run_out_of_paper, PrinterStatus(online=False, paper_out=True)),
        (EscPosEmulator.open_cover, PrinterStatus(online=False, cover_open=True)),
        (EscPosEmulator.jam_cutter, PrinterStatus(online=False, fault=True)),
    ],
    ids=["near-end", "paper-out", "cover-open", "cutter-jam"],
)
def test_status_reports_each_condition(
    pty_printer: MakeDevice,
    escpos_driver: MakeDriver,
    condition: Callable[[EscPosEmulator], None],
    expected: PrinterStatus,
) -> None:
    device = pty_printer()
    condition(device.emulator)
    assert escpos_driver(device.path, PrinterProfile()).status() == expected


def test_no_answer_is_not_paper_out(pty_printer: MakeDevice, escpos_driver: MakeDriver) -> None:
    silent, empty = pty_printer(), pty_printer()
    silent.emulator.go_silent()
    empty.emulator.run_out_of_paper()
    profile = PrinterProfile()

    no_answer = escpos_driver(silent.path, profile, status_timeout=SILENT_STATUS_TIMEOUT).status()
    paper_out = escpos_driver(empty.path, profile).status()

    assert no_answer == PrinterStatus(online=False, no_answer=True)
    assert not no_answer.paper_out
    assert paper_out == PrinterStatus(online=False, paper_out=True)
    assert not paper_out.no_answer


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        (EscPosEmulator.run_out_of_paper, PaperOut),
        (EscPosEmulator.open_cover, CoverOpen),
        (EscPosEmulator.jam_cutter, PrinterFault),
        (EscPosEmulator.go_silent, PrinterNoAnswer),
    ],
    ids=["paper-out", "cover-open", "cutter-jam", "silent"],
)
def test_refuses_to_print_when_the_printer_cannot(
    pty_printer: MakeDevice,
    escpos_driver: MakeDriver,
    condition: Callable[[EscPosEmulator], None],
    error: type[Exception],
) -> None:
    device = pty_printer()
    condition(device.emulator)
    # Only the silent printer makes the driver wait out the timeout.
    timeout = SILENT_STATUS_TIMEOUT if error is PrinterNoAnswer else STATUS_TIMEOUT
    driver = escpos_driver(device.path, PrinterProfile(), status_timeout=timeout)
    with pytest.raises(error):
        driver.print_receipt(french_receipt())
    # Only the status request reached the printer: not a byte of the receipt.
    assert bytes(device.emulator.received) in {
        b"\x10\x04\x01",
        b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04",
    }
    assert nothing_printed(device.emulator)


def test_printing_with_paper_low_still_prints(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    device.emulator.paper_low()
    escpos_driver(device.path, PrinterProfile()).print_receipt(spanish_receipt())
    assert device.emulator.cuts() == 1


def test_paper_running_out_midway_raises_print_incomplete(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    device.emulator.run_out_of_paper(after_bytes=120)
    driver = escpos_driver(device.path, PrinterProfile(), print_timeout=MIDWAY_PRINT_TIMEOUT)

    with pytest.raises(PrintIncomplete) as raised:
        driver.print_receipt(french_receipt())

    assert raised.value.code == "print_incomplete"
    assert isinstance(raised.value.cause, PaperOut)
    emulator = device.emulator
    assert emulator.lines()  # It started...
    assert emulator.cuts() == 0  # ...and did not finish.
    assert driver.status().paper_out


def test_cover_opened_midway_raises_print_incomplete(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    device.emulator.open_cover(after_bytes=200)
    driver = escpos_driver(device.path, PrinterProfile(), print_timeout=MIDWAY_PRINT_TIMEOUT)
    with pytest.raises(PrintIncomplete) as raised:
        driver.print_receipt(spanish_receipt())
    assert isinstance(raised.value.cause, CoverOpen)
    assert device.emulator.cuts() == 0


def test_cutter_jam_at_the_end_raises_print_incomplete(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    device.emulator.jam_cutter(at_next_cut=True)
    driver = escpos_driver(device.path, PrinterProfile(), print_timeout=MIDWAY_PRINT_TIMEOUT)
    with pytest.raises(PrintIncomplete) as raised:
        driver.print_receipt(spanish_receipt())
    assert isinstance(raised.value.cause, PrinterFault)
    assert device.emulator.lines()
    assert device.emulator.cuts() == 0


def test_printer_going_silent_midway_raises_print_incomplete(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    device.emulator.go_silent(after_bytes=50)
    driver = escpos_driver(
        device.path, PrinterProfile(), print_timeout=MIDWAY_PRINT_TIMEOUT, status_timeout=1.0
    )
    with pytest.raises(PrintIncomplete) as raised:
        driver.print_receipt(spanish_receipt())
    assert isinstance(raised.value.cause, PrinterNoAnswer)


def test_without_print_confirmation_status_after_the_job_still_catches_paper_out(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    device.emulator.run_out_of_paper(after_bytes=120)
    driver = escpos_driver(device.path, PrinterProfile(confirm_print=False))
    with pytest.raises(PrintIncomplete) as raised:
        driver.print_receipt(french_receipt())
    assert isinstance(raised.value.cause, PaperOut)
    assert b"\x1dr" not in device.emulator.received


def test_without_print_confirmation_a_good_print_passes(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    escpos_driver(device.path, PrinterProfile(confirm_print=False)).print_receipt(french_receipt())
    assert device.emulator.cuts() == 1


def test_missing_device_cannot_be_opened(escpos_driver: MakeDriver, tmp_path: Path) -> None:
    driver = escpos_driver(str(tmp_path / "ttyUSB9"), PrinterProfile())
    with pytest.raises(CannotOpenDevice) as raised:
        driver.print_receipt(french_receipt())
    assert raised.value.code == "cannot_open_device"
    with pytest.raises(CannotOpenDevice):
        driver.status()


def test_a_second_driver_cannot_share_the_printer(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    first = escpos_driver(device.path, PrinterProfile())
    assert first.status().can_print
    with pytest.raises(CannotOpenDevice):
        escpos_driver(device.path, PrinterProfile()).status()
    first.close()
    assert escpos_driver(device.path, PrinterProfile()).status().can_print


def test_close_is_idempotent_and_the_port_reopens(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    device = pty_printer()
    with escpos_driver(device.path, PrinterProfile()) as driver:
        driver.print_receipt(french_receipt())
    driver.close()
    driver.print_receipt(spanish_receipt())
    assert device.emulator.cuts() == 2


def test_socket_url_reaches_a_network_printer(
    tcp_printer: TcpPrinter, escpos_driver: MakeDriver
) -> None:
    assert tcp_printer.url.startswith("socket://127.0.0.1:")
    profile = PrinterProfile(width=48, code_page=CodePage.CP1252)
    driver = escpos_driver(tcp_printer.url, profile)

    assert driver.status() == PrinterStatus.ready()
    driver.print_receipt(spanish_receipt())

    page = tcp_printer.emulator.page()
    assert "Ayuntamiento de Logroño".center(48).rstrip() in page
    assert page[-2:] == [f"[QR] {RECEIPT_URL}", "[CUT]"]
    tcp_printer.emulator.run_out_of_paper()
    assert driver.status().paper_out
    with pytest.raises(PaperOut):
        driver.print_receipt(spanish_receipt())


def test_network_printer_that_disappears_reads_as_no_answer(
    tcp_printer: TcpPrinter, escpos_driver: MakeDriver
) -> None:
    driver = escpos_driver(tcp_printer.url, PrinterProfile())
    assert driver.status().can_print
    tcp_printer.stop()
    assert driver.status().no_answer
    with pytest.raises(CannotOpenDevice):
        driver.status()


@pytest.mark.parametrize("first_call", ["status", "print"])
def test_printer_unplugged_reads_as_not_answering_and_works_again_once_plugged_back(
    pluggable_printer: PluggablePrinter, escpos_driver: MakeDriver, first_call: str
) -> None:
    driver = escpos_driver(pluggable_printer.path, PrinterProfile())
    driver.print_receipt(spanish_receipt())
    assert pluggable_printer.emulator.cuts() == 1

    pluggable_printer.unplug()  # The port the driver holds now fails with EIO.
    if first_call == "status":
        assert driver.status() == PrinterStatus.silent()
    else:
        with pytest.raises(PrinterNoAnswer):
            driver.print_receipt(spanish_receipt())
    # The dead port was dropped: the next call tries the path again, and it is gone.
    with pytest.raises(CannotOpenDevice):
        driver.status()
    with pytest.raises(CannotOpenDevice):
        driver.print_receipt(spanish_receipt())

    pluggable_printer.plug_in()  # Same path, a new device behind it; no close() needed.
    assert driver.status() == PrinterStatus.ready()
    driver.print_receipt(french_receipt())
    assert pluggable_printer.emulator.cuts() == 2


# Far longer than this test is allowed to run: the error must come from polling the
# printer's status while waiting, never from this timeout running out.
NEVER_REACHED_PRINT_TIMEOUT = 3600.0


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("condition", "cause"),
    [
        (EscPosEmulator.run_out_of_paper, PaperOut),
        (EscPosEmulator.open_cover, CoverOpen),
    ],
    ids=["paper-out", "cover-open"],
)
def test_paper_out_or_cover_open_midway_is_reported_while_waiting_not_after_the_print_timeout(
    pty_printer: MakeDevice,
    escpos_driver: MakeDriver,
    condition: Callable[[EscPosEmulator, int], None],
    cause: type[Exception],
) -> None:
    device = pty_printer()
    condition(device.emulator, 150)
    driver = escpos_driver(device.path, PrinterProfile(), print_timeout=NEVER_REACHED_PRINT_TIMEOUT)
    with pytest.raises(PrintIncomplete) as raised:
        driver.print_receipt(french_receipt())
    assert isinstance(raised.value.cause, cause)
    assert device.emulator.lines()
    assert device.emulator.cuts() == 0


def test_a_long_receipt_still_confirms_while_status_is_polled(
    pty_printer: MakeDevice, escpos_driver: MakeDriver
) -> None:
    # Polling must not mistake a busy printer for a stopped one.
    device = pty_printer()
    layout = ReceiptLayout(french_receipt().blocks * 40)
    escpos_driver(device.path, PrinterProfile()).print_receipt(layout)
    assert device.emulator.cuts() == 1
