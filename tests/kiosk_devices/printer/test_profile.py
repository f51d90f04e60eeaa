import pathlib

import pytest

from kiosk_devices.printer import FilePrinter
from kiosk_devices.printer.profile import CodePage, PrinterProfile
from shared.receipts.layout import ReceiptLayout, Text


def test_defaults() -> None:
    profile = PrinterProfile()
    assert (profile.width, profile.code_page, profile.qr, profile.cutter) == (
        42,
        CodePage.CP858,
        True,
        True,
    )


@pytest.mark.parametrize("width", [32, 40, 80])
def test_rejects_widths_the_kiosk_printers_do_not_have(width: int) -> None:
    with pytest.raises(ValueError, match="width"):
        PrinterProfile(width=width)


def test_rejects_impossible_qr_module_size() -> None:
    with pytest.raises(ValueError, match="qr_module_size"):
        PrinterProfile(qr_module_size=0)


def test_code_pages_from_settings_strings_and_their_esc_t_tables() -> None:
    assert CodePage("cp858").escpos_table == 19
    assert CodePage("cp1252").escpos_table == 16


@pytest.mark.parametrize("setting", ["cp1252", "CP858"])
def test_code_page_given_as_a_settings_string_prints(setting: str, tmp_path: pathlib.Path) -> None:
    # A kiosk reads its code page from a settings file as text; it must print, not crash.
    profile = PrinterProfile(code_page=setting)  # type: ignore[arg-type]
    assert profile.code_page is CodePage(setting.lower())
    printer = FilePrinter(tmp_path / "roll.bin", profile)
    printer.print_receipt(ReceiptLayout((Text("Reçu n° 12 — 45,00 €"),)))
    assert "Reçu n° 12 - 45,00 €" in printer.text_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", ["cp437", "utf-8", "", 1252])
def test_unknown_code_page_is_refused_at_construction_with_a_clear_error(
    setting: object,
) -> None:
    with pytest.raises(ValueError, match=r"code_page must be one of cp858, cp1252, not"):
        PrinterProfile(code_page=setting)  # type: ignore[arg-type]
