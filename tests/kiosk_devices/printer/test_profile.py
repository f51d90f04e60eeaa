import pytest

from kiosk_devices.printer.profile import CodePage, PrinterProfile


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
