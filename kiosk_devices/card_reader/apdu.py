"""Command/response APDUs and the one transmit helper that hides T=0 quirks.

EMV cards only use short APDUs, so Lc and Le are single bytes here.  Logging in this
module names the instruction, P1/P2, lengths and status word, never data bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Protocol

from .errors import CardUnreadableError

__all__ = [
    "ApduTransport",
    "CommandApdu",
    "ResponseApdu",
    "exchange",
    "get_processing_options",
    "get_response",
    "read_record",
    "select_by_name",
]

logger = logging.getLogger(__name__)

# Bounds for the GET RESPONSE / re-send loops: a misbehaving card must not keep us
# looping forever while a citizen waits at the kiosk.
_MAX_GET_RESPONSE = 32
_MAX_WRONG_LE_RETRIES = 2


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A short command APDU. ``le`` is 1-256 (256 is sent as ``00``) or ``None``."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = field(default=b"", repr=False)
    le: int | None = None

    def __post_init__(self) -> None:
        if len(self.data) > 255:
            raise ValueError("extended APDUs are not supported")
        if self.le is not None and not 1 <= self.le <= 256:
            raise ValueError("le must be 1..256")

    def to_bytes(self, *, t0: bool = False) -> bytes:
        """Serialise; with ``t0`` a case-4 command drops Le, as ISO 7816-3 requires.

        Under T=0 the card answers a case-4 command with ``61xx`` and the data is then
        fetched with GET RESPONSE; sending Le as well confuses many T=0 cards/readers.
        """
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out.append(len(self.data))
            out += self.data
        if self.le is not None and not (t0 and self.data):
            out.append(self.le & 0xFF)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """Response data and status word; the repr never shows the data."""

    data: bytes = field(repr=False)
    sw1: int
    sw2: int

    @property
    def sw(self) -> int:
        """Status word as one integer (``0x9000``)."""
        return (self.sw1 << 8) | self.sw2

    @property
    def ok(self) -> bool:
        """True for 9000."""
        return self.sw == 0x9000

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseApdu:
        """Split a raw response into data and SW1 SW2."""
        if len(raw) < 2:
            raise CardUnreadableError(detail="response APDU shorter than a status word")
        return cls(bytes(raw[:-2]), raw[-2], raw[-1])


class ApduTransport(Protocol):
    """A connected card: sends one raw APDU and returns the raw response (data + SW)."""

    @property
    def t0(self) -> bool:
        """True when the active protocol is T=0."""
        ...

    def transmit_raw(self, apdu: bytes) -> bytes:
        """Send one APDU; raise a :class:`CardReaderError` on transport failure."""
        ...


def _send(transport: ApduTransport, command: CommandApdu) -> ResponseApdu:
    response = ResponseApdu.from_bytes(transport.transmit_raw(command.to_bytes(t0=transport.t0)))
    logger.debug(
        "apdu ins=%02X p1=%02X p2=%02X lc=%d le=%s -> sw=%04X len=%d",
        command.ins,
        command.p1,
        command.p2,
        len(command.data),
        command.le,
        response.sw,
        len(response.data),
    )
    return response


def exchange(transport: ApduTransport, command: CommandApdu) -> ResponseApdu:
    """Send ``command`` and return the complete response.

    Handles, in one place, the two ISO 7816-4 status words that mean "ask again":
    ``6Cxx`` (wrong Le: re-send the same command with Le=xx) and ``61xx`` (more data
    available: issue GET RESPONSE with Le=xx until the card stops saying 61).
    """
    response = _send(transport, command)
    retries = 0
    while response.sw1 == 0x6C and retries < _MAX_WRONG_LE_RETRIES:
        retries += 1
        command = replace(command, le=response.sw2 or 256)
        response = _send(transport, command)
    if response.sw1 != 0x61:
        return response
    chunks = [response.data]
    for _ in range(_MAX_GET_RESPONSE):
        response = _send(transport, get_response(response.sw2 or 256))
        if response.sw1 == 0x6C:
            # A T=0 card may reject our GET RESPONSE length too; it tells the right one.
            response = _send(transport, get_response(response.sw2 or 256))
        chunks.append(response.data)
        if response.sw1 != 0x61:
            return ResponseApdu(b"".join(chunks), response.sw1, response.sw2)
    raise CardUnreadableError(detail="card kept answering 61xx")


def select_by_name(name: bytes) -> CommandApdu:
    """SELECT by DF name / AID, first occurrence, FCI requested."""
    return CommandApdu(0x00, 0xA4, 0x04, 0x00, bytes(name), le=256)


def get_processing_options(pdol_data: bytes) -> CommandApdu:
    """GET PROCESSING OPTIONS with the PDOL data wrapped in tag 83."""
    if len(pdol_data) > 253:
        raise CardUnreadableError(detail="PDOL data too long")
    return CommandApdu(0x80, 0xA8, 0x00, 0x00, bytes((0x83, len(pdol_data))) + pdol_data, le=256)


def read_record(sfi: int, record: int) -> CommandApdu:
    """READ RECORD ``record`` of short file ``sfi``."""
    return CommandApdu(0x00, 0xB2, record, (sfi << 3) | 0x04, le=256)


def get_response(length: int) -> CommandApdu:
    """GET RESPONSE for ``length`` bytes (1-256)."""
    return CommandApdu(0x00, 0xC0, 0x00, 0x00, le=length)
