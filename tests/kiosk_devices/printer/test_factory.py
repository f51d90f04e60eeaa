from pathlib import Path

from kiosk_devices.printer import EscPosPrinter, FilePrinter, PrinterProfile, open_printer


def test_file_target_gives_the_file_printer(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path}/receipts.bin", PrinterProfile())
    assert isinstance(printer, FilePrinter)
    assert printer.bin_path == tmp_path / "receipts.bin"


def test_device_paths_and_urls_give_the_escpos_printer() -> None:
    for target in ("/dev/ttyUSB0", "socket://127.0.0.1:9100", "rfc2217://127.0.0.1:7000"):
        printer = open_printer(target, PrinterProfile(width=48))
        assert isinstance(printer, EscPosPrinter)
        assert printer.url == target
        printer.close()  # Nothing was opened: opening waits for the first call.
