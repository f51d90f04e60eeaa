"""Byte encodings of the small ESC/POS command set the receipts use.

Encoded here rather than through python-escpos: the set is a dozen fixed
sequences, and building bytes directly keeps the driver free of that
library's device classes and lets each sequence be checked byte for byte.
"""

from __future__ import annotations

from enum import IntEnum

from kiosk_devices.printer.status import StatusRequest
from shared.receipts.layout import Align

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

_ALIGN = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}

# GS ( k stores at most 7,089 bytes; this is the byte-mode capacity of the
# largest QR symbol (version 40) at error level M, beyond which printers
# silently print nothing.
QR_MAX_BYTES = 2331


class QrErrorLevel(IntEnum):
    """The `n` of GS ( k <fn 169>."""

    L = 48
    M = 49
    Q = 50
    H = 51


def initialize() -> bytes:
    """ESC @: clear the print buffer and reset modes to power-on defaults."""
    return ESC + b"@"


def align(alignment: Align) -> bytes:
    """ESC a n: justification of the lines that follow (takes effect at a line start)."""
    return ESC + b"a" + bytes([_ALIGN[alignment]])


def bold(on: bool) -> bytes:
    """ESC E n: emphasized (bold) printing on or off."""
    return ESC + b"E" + bytes([1 if on else 0])


def character_size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: character magnification, 1..8 times in each direction."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("character magnification must be 1..8")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def code_page(table: int) -> bytes:
    """ESC t n: select the character code table."""
    return ESC + b"t" + bytes([table])


def _qr_function(function: int, parameters: bytes) -> bytes:
    # GS ( k pL pH cn fn [parameters], where pL/pH count cn, fn and the parameters.
    length = len(parameters) + 2
    return GS + b"(k" + length.to_bytes(2, "little") + bytes([49, function]) + parameters


def qr_model() -> bytes:
    """GS ( k <fn 165>: QR model 2, the one phones read."""
    return _qr_function(65, bytes([50, 0]))


def qr_module_size(dots: int) -> bytes:
    """GS ( k <fn 167>: size of one QR module in dots (1..16)."""
    if not 1 <= dots <= 16:
        raise ValueError("QR module size must be 1..16 dots")
    return _qr_function(67, bytes([dots]))


def qr_error_correction(level: QrErrorLevel) -> bytes:
    """GS ( k <fn 169>: QR error correction level."""
    return _qr_function(69, bytes([level]))


def qr_store(data: bytes) -> bytes:
    """GS ( k <fn 180>: store the data of the symbol to print next."""
    if not 1 <= len(data) <= QR_MAX_BYTES:
        raise ValueError(f"QR data must be 1..{QR_MAX_BYTES} bytes")
    return _qr_function(80, b"0" + data)


def qr_print() -> bytes:
    """GS ( k <fn 181>: print the stored symbol."""
    return _qr_function(81, b"0")


def cut() -> bytes:
    """GS V 65 n: feed to the cutter (n = 0 extra) and cut fully."""
    return GS + b"V" + bytes([65, 0])


def feed(lines: int) -> bytes:
    """Line feeds, to bring the last line past the tear bar when there is no cutter."""
    return LF * lines


def status_request(request: StatusRequest) -> bytes:
    """DLE EOT n: real-time status request, answered even while offline."""
    return DLE + EOT + bytes([request])


def paper_sensor_request() -> bytes:
    """GS r 1: paper sensor status, answered only once all earlier data is processed.

    Sent after a receipt, its answer proves the printer got through the whole
    receipt, which the real-time DLE EOT (answered on arrival) cannot.
    """
    return GS + b"r" + bytes([1])
