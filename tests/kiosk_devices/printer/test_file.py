from pathlib import Path

import pytest

from kiosk_devices.printer import CannotOpenDevice, CodePage, FilePrinter, PrinterProfile
from kiosk_devices.printer.encoder import encode_receipt, render_receipt_text

from .conftest import RECEIPT_URL, french_receipt, spanish_receipt


def test_writes_the_job_bytes_and_a_readable_text_beside_them(tmp_path: Path) -> None:
    profile = PrinterProfile(width=48, code_page=CodePage.CP1252)
    printer = FilePrinter(tmp_path / "kiosk-printer.bin", profile)
    printer.print_receipt(french_receipt())

    assert (tmp_path / "kiosk-printer.bin").read_bytes() == encode_receipt(
        french_receipt(), profile
    )
    text = (tmp_path / "kiosk-printer.txt").read_text(encoding="utf-8")
    assert text.splitlines() == [
        *render_receipt_text(french_receipt(), profile),
        "-" * 21 + " cut " + "-" * 22,
    ]
    assert "Total payé" in text
    assert f"[QR]\n{RECEIPT_URL}\n" in text


def test_appends_like_a_paper_roll(tmp_path: Path) -> None:
    profile = PrinterProfile(cutter=False)
    printer = FilePrinter(tmp_path / "roll", profile)
    printer.print_receipt(french_receipt())
    printer.print_receipt(spanish_receipt())

    assert printer.bin_path == tmp_path / "roll.bin"
    assert printer.bin_path.read_bytes() == encode_receipt(
        french_receipt(), profile
    ) + encode_receipt(spanish_receipt(), profile)
    text = printer.text_path.read_text(encoding="utf-8")
    assert text.count(" tear ") == 2
    assert text.index("Sète") < text.index("Logroño")


def test_creates_the_folder(tmp_path: Path) -> None:
    printer = FilePrinter(tmp_path / "var" / "printer" / "out.bin", PrinterProfile())
    printer.print_receipt(spanish_receipt())
    assert printer.text_path.exists()


def test_unwritable_target_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "taken.bin").mkdir()
    with pytest.raises(CannotOpenDevice):
        FilePrinter(tmp_path / "taken.bin", PrinterProfile()).print_receipt(spanish_receipt())
