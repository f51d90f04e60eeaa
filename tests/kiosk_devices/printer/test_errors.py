import pytest

from kiosk_devices.printer.errors import (
    CannotOpenDevice,
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterNoAnswer,
    PrinterOffline,
    PrintIncomplete,
)

# The kiosk translates screens by these codes: changing one is a breaking change.
STABLE_CODES = {
    CannotOpenDevice: "cannot_open_device",
    PrinterOffline: "printer_offline",
    PrinterNoAnswer: "printer_no_answer",
    PaperOut: "paper_out",
    CoverOpen: "cover_open",
    PrinterFault: "printer_fault",
    PrintIncomplete: "print_incomplete",
}


@pytest.mark.parametrize(("error", "code"), STABLE_CODES.items())
def test_codes_are_stable_and_messages_are_plain_sentences(
    error: type[PrinterError], code: str
) -> None:
    instance = error()
    assert instance.code == code
    assert instance.message.endswith(".")
    assert "_" not in instance.message
    assert isinstance(instance, PrinterError)


def test_no_answer_is_a_kind_of_offline() -> None:
    assert isinstance(PrinterNoAnswer(), PrinterOffline)


def test_detail_is_for_the_log_not_the_screen() -> None:
    error = CannotOpenDevice("/dev/ttyUSB0: [Errno 2] No such file")
    assert "ttyUSB0" in str(error)
    assert "ttyUSB0" not in error.message


def test_print_incomplete_keeps_its_cause() -> None:
    error = PrintIncomplete(PaperOut())
    assert isinstance(error.cause, PaperOut)
    assert "paper_out" in str(error)
    assert error.message == "The receipt did not finish printing."
