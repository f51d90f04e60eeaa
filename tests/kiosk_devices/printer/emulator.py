"""An ESC/POS receipt printer emulated in the tests, on a pseudo-terminal or TCP.

`EscPosEmulator` is the printer: it takes the bytes a driver sends, decodes
them into printed lines (through the selected code page, with bold, alignment
and size), QR symbols and cuts, and answers status requests. Like a real
printer it answers DLE EOT on arrival, even while offline, but processes
everything else in order and stops processing while it is out of paper, its
cover is open or its cutter is jammed. `PtyPrinter` and `TcpPrinter` connect
it to a driver through a real pseudo-terminal or a loopback socket
(see `transports.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.receipts.layout import Align

DLE, EOT, ESC, GS, LF, CR = 0x10, 0x04, 0x1B, 0x1D, 0x0A, 0x0D

CODE_TABLES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858"}
_ALIGNMENTS = {0: Align.LEFT, 1: Align.CENTER, 2: Align.RIGHT}
# Commands with one parameter byte after ESC x / GS x.
_ESC_ONE_PARAMETER = frozenset(b"aEtd!-MJ")
_GS_ONE_PARAMETER = frozenset(b"!ra")
# GS V m takes one more byte (the feed) for m = 65, 66, 97, 103, 104.
_CUT_WITH_FEED = frozenset({65, 66, 97, 103, 104})


@dataclass(frozen=True, slots=True)
class PrintedLine:
    text: str
    align: Align = Align.LEFT
    bold: bool = False
    width_scale: int = 1
    height_scale: int = 1

    @property
    def large(self) -> bool:
        return self.width_scale == 2 and self.height_scale == 2

    def laid_out(self, columns: int) -> str:
        """The line as it sits on paper, padded like `shared.receipts.layout.render_text`."""
        room = columns // self.width_scale
        if self.align is Align.CENTER:
            return self.text.center(room).rstrip()
        if self.align is Align.RIGHT:
            return self.text.rjust(room)
        return self.text


@dataclass(frozen=True, slots=True)
class PrintedQr:
    data: bytes
    model: int | None
    module_size: int | None
    error_level: int | None


@dataclass(frozen=True, slots=True)
class Cut:
    partial: bool


Printed = PrintedLine | PrintedQr | Cut


@dataclass
class _Modes:
    align: Align = Align.LEFT
    bold: bool = False
    width_scale: int = 1
    height_scale: int = 1
    table: int = 0


@dataclass
class _Qr:
    model: int | None = None
    module_size: int | None = None
    error_level: int | None = None
    stored: bytes | None = None


@dataclass
class _LineBuffer:
    chars: list[str] = field(default_factory=list)
    bold: list[bool] = field(default_factory=list)
    align: Align = Align.LEFT
    width_scale: int = 1
    height_scale: int = 1
    used: int = 0


class EscPosEmulator:
    """The printer itself, independent of how bytes reach it. Thread-safe."""

    def __init__(self, columns: int = 42) -> None:
        self.columns = columns
        self._changed = threading.Condition()
        # Conditions a test can set.
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.cutter_jammed = False
        self.silent = False
        self._trip: tuple[int, str] | None = None
        self._jam_at_cut = False
        # What the printer did.
        self.paper: list[Printed] = []
        self.status_requests: list[int] = []
        self.unknown: list[bytes] = []
        self.auto_wraps = 0
        self.received = bytearray()
        self.processed = 0
        self._realtime_carry = bytearray()
        self._pending = bytearray()
        self._modes = _Modes()
        self._qr = _Qr()
        self._line = _LineBuffer()

    # -- what tests set ------------------------------------------------------

    def run_out_of_paper(self, after_bytes: int | None = None) -> None:
        """Run out now, or once `after_bytes` more bytes of print data are processed."""
        self._set("paper_out", after_bytes)

    def open_cover(self, after_bytes: int | None = None) -> None:
        self._set("cover_open", after_bytes)

    def go_silent(self, after_bytes: int | None = None) -> None:
        """Stop answering (status and GS r) while still printing what arrives."""
        self._set("silent", after_bytes)

    def jam_cutter(self, at_next_cut: bool = False) -> None:
        """Jam now, or when the next cut command arrives (the cut then does not happen)."""
        with self._changed:
            if at_next_cut:
                self._jam_at_cut = True
            else:
                self.cutter_jammed = True

    def paper_low(self) -> None:
        with self._changed:
            self.paper_near_end = True

    def _set(self, condition: str, after_bytes: int | None) -> None:
        with self._changed:
            if after_bytes is None:
                setattr(self, condition, True)
            else:
                self._trip = (self.processed + after_bytes, condition)

    # -- what tests read -----------------------------------------------------

    @property
    def halted(self) -> bool:
        return self.paper_out or self.cover_open or self.cutter_jammed

    def lines(self) -> list[PrintedLine]:
        with self._changed:
            return [item for item in self.paper if isinstance(item, PrintedLine)]

    def page(self) -> list[str]:
        """The paper as text: laid-out lines, "[QR] data" for symbols, "[CUT]" for cuts."""
        out: list[str] = []
        with self._changed:
            for item in self.paper:
                match item:
                    case PrintedLine():
                        out.append(item.laid_out(self.columns))
                    case PrintedQr(data=data):
                        out.append(f"[QR] {data.decode('utf-8')}")
                    case Cut():
                        out.append("[CUT]")
        return out

    def qr_codes(self) -> list[PrintedQr]:
        with self._changed:
            return [item for item in self.paper if isinstance(item, PrintedQr)]

    def cuts(self) -> int:
        with self._changed:
            return sum(isinstance(item, Cut) for item in self.paper)

    def wait_until(self, predicate: Callable[[EscPosEmulator], bool], timeout: float = 5) -> bool:
        """Wait (bounded) until `predicate(self)` holds; True when it did."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    # -- the wire ------------------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the host; return the bytes the printer sends back."""
        replies = bytearray()
        with self._changed:
            self.received += data
            self._take_realtime(data, replies)
            self._process(replies)
            self._changed.notify_all()
        return bytes(replies)

    def _take_realtime(self, data: bytes, replies: bytearray) -> None:
        # Real-time requests are acted on as they arrive, ahead of buffered data.
        stream = self._realtime_carry + data
        self._realtime_carry = bytearray()
        i = 0
        while i < len(stream):
            if stream[i] == DLE:
                if len(stream) - i < 3 and stream[i + 1 : i + 2] in (b"", bytes([EOT])):
                    self._realtime_carry = stream[i:]
                    return
                if stream[i + 1] == EOT and 1 <= stream[i + 2] <= 4:
                    self.status_requests.append(stream[i + 2])
                    if not self.silent:
                        replies.append(self._status_byte(stream[i + 2]))
                    i += 3
                    continue
            self._pending.append(stream[i])
            i += 1

    def _status_byte(self, n: int) -> int:
        value = 0x12
        if n == 1 and self.halted:
            value |= 0x08
        elif n == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
            value |= 0x40 if self.cutter_jammed else 0
        elif n == 3:
            value |= 0x08 if self.cutter_jammed else 0
        elif n == 4:
            value |= (0x0C if self.paper_near_end else 0) | (0x60 if self.paper_out else 0)
        return value

    def _process(self, replies: bytearray) -> None:
        while self._pending and not self.halted:
            length = self._command_length(self._pending)
            if length is None:
                return
            if self._trip is not None and self.processed + length > self._trip[0]:
                setattr(self, self._trip[1], True)
                self._trip = None
                continue
            command = bytes(self._pending[:length])
            del self._pending[:length]
            self.processed += length
            self._execute(command, replies)

    @staticmethod
    def _command_length(buffer: bytearray) -> int | None:
        """Length of the command at the front of `buffer`, or None until it has all arrived."""
        first = buffer[0]
        if first == ESC:
            if len(buffer) < 2:
                return None
            length = 3 if buffer[1] in _ESC_ONE_PARAMETER else 2
        elif first == GS:
            if len(buffer) < 3:
                return None
            if buffer[1] == ord("("):
                if len(buffer) < 5:
                    return None
                length = 5 + buffer[3] + buffer[4] * 256
            elif buffer[1] == ord("V"):
                length = 4 if buffer[2] in _CUT_WITH_FEED else 3
            else:
                length = 3 if buffer[1] in _GS_ONE_PARAMETER else 2
        elif first == DLE:
            length = 3
        else:
            length = 1
        return length if len(buffer) >= length else None

    def _execute(self, command: bytes, replies: bytearray) -> None:
        first = command[0]
        if first == ESC:
            self._escape(command)
        elif first == GS:
            self._group(command, replies)
        elif first == LF:
            self._finish_line()
        elif first == CR:
            pass  # Carriage return is ignored when LF ends lines, as on Epson defaults.
        elif first < 0x20 or first == DLE:
            self.unknown.append(command)
        else:
            self._print_char(first)

    def _escape(self, command: bytes) -> None:
        name = command[1:2]
        if name == b"@":
            self._modes = _Modes()
            self._line = _LineBuffer()
            self._qr = _Qr()
        elif name == b"a":
            # Justification only takes effect at the start of a line.
            if not self._line.chars:
                self._modes.align = _ALIGNMENTS.get(command[2] % 48, Align.LEFT)
        elif name == b"E":
            self._modes.bold = bool(command[2] & 1)
        elif name == b"t":
            if command[2] not in CODE_TABLES:
                self.unknown.append(command)
            self._modes.table = command[2]
        elif name == b"d":
            self._finish_line()
            self.paper.extend(PrintedLine("") for _ in range(command[2] - 1))
        else:
            self.unknown.append(command)

    def _group(self, command: bytes, replies: bytearray) -> None:
        name = command[1:2]
        if name == b"!":
            self._modes.width_scale = (command[2] >> 4) + 1
            self._modes.height_scale = (command[2] & 0x0F) + 1
        elif name == b"V":
            if self._line.chars:
                self._finish_line()
            if self._jam_at_cut:
                self.cutter_jammed = True
                return
            self.paper.append(Cut(partial=command[2] in (1, 49, 66, 104)))
        elif name == b"r":
            if not self.silent:
                replies.append(
                    (0x03 if self.paper_near_end else 0) | (0x0C if self.paper_out else 0)
                )
        elif command[1:3] == b"(k" and command[5] == 49:
            self._qr_function(command[6], command[7:])
        else:
            self.unknown.append(command)

    def _qr_function(self, function: int, parameters: bytes) -> None:
        if function == 65:
            self._qr.model = parameters[0]
        elif function == 67:
            self._qr.module_size = parameters[0]
        elif function == 69:
            self._qr.error_level = parameters[0]
        elif function == 80:
            self._qr.stored = parameters[1:]
        elif function == 81 and self._qr.stored is not None:
            if self._line.chars:
                self._finish_line()
            qr = self._qr
            self.paper.append(PrintedQr(qr.stored or b"", qr.model, qr.module_size, qr.error_level))
        else:
            self.unknown.append(bytes([function, *parameters]))

    def _print_char(self, byte: int) -> None:
        codec = CODE_TABLES.get(self._modes.table, "cp437")
        line = self._line
        if not line.chars:
            line.align = self._modes.align
            line.width_scale = self._modes.width_scale
            line.height_scale = self._modes.height_scale
        if line.used + self._modes.width_scale > self.columns:
            # A real printer prints the full line and carries on: the layout overflowed.
            self.auto_wraps += 1
            self._finish_line()
            self._print_char(byte)
            return
        line.chars.append(bytes([byte]).decode(codec))
        line.bold.append(self._modes.bold)
        line.used += self._modes.width_scale

    def _finish_line(self) -> None:
        line = self._line
        align = line.align if line.chars else self._modes.align
        self.paper.append(
            PrintedLine(
                "".join(line.chars),
                align,
                bool(line.bold) and all(line.bold),
                line.width_scale if line.chars else self._modes.width_scale,
                line.height_scale if line.chars else self._modes.height_scale,
            )
        )
        self._line = _LineBuffer()
