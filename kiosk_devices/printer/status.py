"""Printer status as reported by the real-time request DLE EOT n (n = 1..4).

Each answer is one byte whose bits 1 and 4 are always set and bits 0 and 7
always clear; a byte that breaks that rule is not a status answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum


class StatusRequest(IntEnum):
    """The `n` of DLE EOT n."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER_SENSOR = 4


_FIXED_MASK = 0b1001_0011
_FIXED_BITS = 0b0001_0010

# DLE EOT 1
_OFFLINE = 0x08
# DLE EOT 2
_COVER_OPEN = 0x04
_STOPPED_BY_PAPER_END = 0x20
_ERROR_OCCURRED = 0x40
# DLE EOT 3
_CUTTER_ERROR = 0x08
_UNRECOVERABLE_ERROR = 0x20
_AUTO_RECOVERABLE_ERROR = 0x40
# DLE EOT 4: two bits per sensor; some models set only one of the pair, so either counts.
_PAPER_NEAR_END = 0x0C
_PAPER_OUT = 0x60


def is_status_byte(value: int) -> bool:
    """True when `value` has the fixed bits every DLE EOT answer carries."""
    return value & _FIXED_MASK == _FIXED_BITS


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself; `no_answer` means it said nothing in time."""

    online: bool
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    fault: bool = False
    no_answer: bool = False

    @classmethod
    def ready(cls) -> PrinterStatus:
        return cls(online=True)

    @classmethod
    def silent(cls) -> PrinterStatus:
        """The status of a printer that did not answer: offline, cause unknown."""
        return cls(online=False, no_answer=True)

    @property
    def can_print(self) -> bool:
        return (
            self.online
            and not self.no_answer
            and not self.cover_open
            and not self.paper_out
            and not self.fault
        )


def decode_status(answers: Mapping[StatusRequest, int]) -> PrinterStatus:
    """Combine the answers to DLE EOT 1..4 into a `PrinterStatus`.

    A missing or malformed answer makes the whole status "no answer": a partial
    reading cannot tell "paper out" from "not listening".
    """
    if any(not is_status_byte(answers.get(request, 0)) for request in StatusRequest):
        return PrinterStatus.silent()
    printer = answers[StatusRequest.PRINTER]
    offline_cause = answers[StatusRequest.OFFLINE_CAUSE]
    error_cause = answers[StatusRequest.ERROR_CAUSE]
    paper = answers[StatusRequest.PAPER_SENSOR]
    return PrinterStatus(
        online=not printer & _OFFLINE,
        cover_open=bool(offline_cause & _COVER_OPEN),
        paper_near_end=bool(paper & _PAPER_NEAR_END),
        paper_out=bool(paper & _PAPER_OUT or offline_cause & _STOPPED_BY_PAPER_END),
        fault=bool(
            error_cause & (_CUTTER_ERROR | _UNRECOVERABLE_ERROR)
            # Opening the cover mid-print also raises the "error occurred" and
            # auto-recoverable bits; that is the cover, not a fault to report.
            or (
                (error_cause & _AUTO_RECOVERABLE_ERROR or offline_cause & _ERROR_OCCURRED)
                and not offline_cause & _COVER_OPEN
            )
        ),
    )


def is_offline(printer_status: int) -> bool:
    """True when an answer to DLE EOT 1 says the printer is offline (stopped printing)."""
    return is_status_byte(printer_status) and bool(printer_status & _OFFLINE)


def is_paper_sensor_reply(value: int) -> bool:
    """True when `value` can be the answer to GS r 1 (bits 4 and 7 always clear)."""
    return value & 0b1001_0000 == 0
