"""The emulator is test equipment: check it decodes what it is sent, however it is split."""

from kiosk_devices.printer import PrinterProfile, encode_receipt
from kiosk_devices.printer.commands import paper_sensor_request, status_request
from kiosk_devices.printer.status import StatusRequest

from .conftest import french_receipt
from .emulator import EscPosEmulator

JOB = encode_receipt(french_receipt(), PrinterProfile())


def test_byte_by_byte_decodes_like_one_chunk() -> None:
    whole, trickle = EscPosEmulator(), EscPosEmulator()
    whole.receive(JOB)
    for byte in JOB:
        trickle.receive(bytes([byte]))
    assert trickle.page() == whole.page()
    assert whole.unknown == []


def test_status_request_split_across_reads_is_answered_once() -> None:
    emulator = EscPosEmulator()
    request = status_request(StatusRequest.PAPER_SENSOR)
    assert emulator.receive(request[:1]) == b""
    assert emulator.receive(request[1:2]) == b""
    assert emulator.receive(request[2:]) == b"\x12"


def test_real_time_requests_are_answered_while_halted_but_data_waits() -> None:
    emulator = EscPosEmulator()
    emulator.run_out_of_paper()
    reply = emulator.receive(JOB + paper_sensor_request() + status_request(StatusRequest.PRINTER))
    assert reply == b"\x1a"
    assert emulator.paper == []
