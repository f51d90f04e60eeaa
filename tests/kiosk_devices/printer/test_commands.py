import pytest

from kiosk_devices.printer import commands
from kiosk_devices.printer.commands import QrErrorLevel
from kiosk_devices.printer.status import StatusRequest
from shared.receipts.layout import Align


def test_initialize() -> None:
    assert commands.initialize() == b"\x1b\x40"


@pytest.mark.parametrize(
    ("alignment", "expected"),
    [(Align.LEFT, b"\x1ba\x00"), (Align.CENTER, b"\x1ba\x01"), (Align.RIGHT, b"\x1ba\x02")],
)
def test_align(alignment: Align, expected: bytes) -> None:
    assert commands.align(alignment) == expected


def test_bold() -> None:
    assert commands.bold(True) == b"\x1bE\x01"
    assert commands.bold(False) == b"\x1bE\x00"


def test_character_size() -> None:
    assert commands.character_size() == b"\x1d!\x00"
    assert commands.character_size(2, 2) == b"\x1d!\x11"
    assert commands.character_size(8, 1) == b"\x1d!\x70"


@pytest.mark.parametrize(("width", "height"), [(0, 1), (1, 9)])
def test_character_size_out_of_range(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="magnification"):
        commands.character_size(width, height)


def test_code_page() -> None:
    assert commands.code_page(19) == b"\x1bt\x13"
    assert commands.code_page(16) == b"\x1bt\x10"


def test_qr_model_2() -> None:
    assert commands.qr_model() == b"\x1d(k\x04\x00\x31\x41\x32\x00"


def test_qr_module_size() -> None:
    assert commands.qr_module_size(6) == b"\x1d(k\x03\x00\x31\x43\x06"
    with pytest.raises(ValueError, match="module size"):
        commands.qr_module_size(17)


def test_qr_error_correction() -> None:
    assert commands.qr_error_correction(QrErrorLevel.M) == b"\x1d(k\x03\x00\x31\x45\x31"


def test_qr_store_counts_data_plus_three() -> None:
    data = b"https://example.org/r/1"
    expected_length = (len(data) + 3).to_bytes(2, "little")
    assert commands.qr_store(data) == b"\x1d(k" + expected_length + b"\x31\x50\x30" + data


def test_qr_store_length_uses_the_high_byte() -> None:
    data = b"x" * 300
    assert commands.qr_store(data)[3:5] == bytes([303 % 256, 303 // 256])


@pytest.mark.parametrize("size", [0, commands.QR_MAX_BYTES + 1])
def test_qr_store_rejects_sizes_the_symbol_cannot_hold(size: int) -> None:
    with pytest.raises(ValueError, match="QR data"):
        commands.qr_store(b"x" * size)


def test_qr_print() -> None:
    assert commands.qr_print() == b"\x1d(k\x03\x00\x31\x51\x30"


def test_cut_feeds_to_the_cutter_then_cuts() -> None:
    assert commands.cut() == b"\x1dV\x41\x00"


def test_feed_and_line_feed() -> None:
    assert commands.LF == b"\x0a"
    assert commands.feed(3) == b"\n\n\n"


@pytest.mark.parametrize("request_", list(StatusRequest))
def test_status_request(request_: StatusRequest) -> None:
    assert commands.status_request(request_) == bytes([0x10, 0x04, int(request_)])


def test_paper_sensor_request() -> None:
    assert commands.paper_sensor_request() == b"\x1dr\x01"
