import pytest

from kiosk_devices.printer.errors import (
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterNoAnswer,
    PrinterOffline,
    error_for_status,
)
from kiosk_devices.printer.status import (
    PrinterStatus,
    StatusRequest,
    decode_status,
    is_paper_sensor_reply,
    is_status_byte,
)

IDLE = {request: 0x12 for request in StatusRequest}


def answers(
    printer: int = 0x12, offline: int = 0x12, error: int = 0x12, paper: int = 0x12
) -> dict[StatusRequest, int]:
    return {
        StatusRequest.PRINTER: printer,
        StatusRequest.OFFLINE_CAUSE: offline,
        StatusRequest.ERROR_CAUSE: error,
        StatusRequest.PAPER_SENSOR: paper,
    }


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (answers(), PrinterStatus(online=True)),
        (answers(paper=0x1E), PrinterStatus(online=True, paper_near_end=True)),
        (
            answers(printer=0x1A, offline=0x32, paper=0x72),
            PrinterStatus(online=False, paper_out=True),
        ),
        # Only one bit of the sensor pair set: some models do this; still paper out.
        (answers(printer=0x1A, paper=0x52), PrinterStatus(online=False, paper_out=True)),
        (answers(printer=0x1A, offline=0x16), PrinterStatus(online=False, cover_open=True)),
        # Cover opened mid-print: Epson also raises "error" bits; that is not a fault.
        (
            answers(printer=0x1A, offline=0x56, error=0x52),
            PrinterStatus(online=False, cover_open=True),
        ),
        (answers(printer=0x1A, offline=0x52, error=0x1A), PrinterStatus(online=False, fault=True)),
        (answers(printer=0x1A, error=0x32), PrinterStatus(online=False, fault=True)),
        (answers(printer=0x1A), PrinterStatus(online=False)),
    ],
    ids=[
        "ready",
        "near-end",
        "paper-out",
        "paper-out-one-bit",
        "cover",
        "cover-mid-print",
        "cutter",
        "unrecoverable",
        "offline",
    ],
)
def test_decode(reply: dict[StatusRequest, int], expected: PrinterStatus) -> None:
    assert decode_status(reply) == expected


def test_missing_answer_is_no_answer_not_paper_out() -> None:
    partial = {StatusRequest.PRINTER: 0x12, StatusRequest.OFFLINE_CAUSE: 0x12}
    status = decode_status(partial)
    assert status == PrinterStatus(online=False, no_answer=True)
    assert not status.paper_out


def test_malformed_answer_is_no_answer() -> None:
    assert decode_status({**IDLE, StatusRequest.PAPER_SENSOR: 0x00}).no_answer


@pytest.mark.parametrize(
    ("value", "ok"),
    [(0x12, True), (0x7E, True), (0x00, False), (0x13, False), (0x92, False), (0x02, False)],
)
def test_status_bytes_have_fixed_bits(value: int, ok: bool) -> None:
    assert is_status_byte(value) is ok


def test_paper_sensor_reply_is_told_apart_from_a_status_byte() -> None:
    assert is_paper_sensor_reply(0x00)
    assert is_paper_sensor_reply(0x0F)
    assert not is_paper_sensor_reply(0x12)


def test_can_print() -> None:
    assert PrinterStatus.ready().can_print
    assert PrinterStatus(online=True, paper_near_end=True).can_print
    assert not PrinterStatus.silent().can_print
    assert not PrinterStatus(online=True, paper_out=True).can_print


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (PrinterStatus.ready(), None),
        (PrinterStatus(online=True, paper_near_end=True), None),
        (PrinterStatus.silent(), PrinterNoAnswer),
        (PrinterStatus(online=False), PrinterOffline),
        (PrinterStatus(online=False, paper_out=True), PaperOut),
        (PrinterStatus(online=False, cover_open=True, paper_out=True), CoverOpen),
        (PrinterStatus(online=False, fault=True), PrinterFault),
    ],
)
def test_error_for_status(status: PrinterStatus, error: type[PrinterError] | None) -> None:
    found = error_for_status(status)
    assert (type(found) if found else None) is error
