"""PC/SC driver end to end: pyscard -> pcscd -> vpcd -> emulated EMV card.

Nothing in pyscard is mocked: the card is a Python thread speaking vpcd's protocol.
"""

from __future__ import annotations

import logging
import threading
from datetime import date

import pytest
from smartcard import scard

from kiosk_devices.card_reader import (
    CardBlockedError,
    CardNotAnsweringError,
    CardReaderError,
    NoReaderError,
    PcscUnavailableError,
    ReaderBusyError,
    TerminalData,
    WaitCancelledError,
)
from kiosk_devices.card_reader.pcsc import PcscCardReader

from .card_reader_emv_cards import PROFILES, READABLE
from .card_reader_support import CardSlot, Pcscd, run_in_thread
from .card_reader_vicc import VPCD_READER

pytestmark = [pytest.mark.devices, pytest.mark.slow]

WAIT = 15.0  # generous bound for pcscd to notice an insertion; never a timing assertion


def terminal(amount: int = 12345) -> TerminalData:
    return TerminalData(
        amount_minor=amount,
        currency_numeric=978,
        country_numeric=250,
        transaction_date=date(2025, 11, 25),
    )


@pytest.mark.parametrize("profile", READABLE)
def test_reads_each_card_profile(
    profile: str, pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    _, emulator = card_slot.insert(profile)
    expected = PROFILES[profile].expected
    assert pcsc_reader.wait_for_card(timeout=WAIT) == VPCD_READER
    with pcsc_reader.read_card(terminal()) as card:
        assert card.reveal_pan() == expected.pan
        assert card.brand == expected.brand
        assert card.last4 == expected.pan[-4:]
        assert card.expiry_year == 2000 + int(expected.expiry_yymm[:2])
        assert card.expiry_month == int(expected.expiry_yymm[2:])
        assert card.cardholder_name == expected.cardholder
        assert card.reveal_track2() == expected.track2
        assert card.aid == expected.aid
    assert card.wiped
    assert len(emulator.gpo_data) == 1


def test_pdol_carries_the_terminal_data(pcsc_reader: PcscCardReader, card_slot: CardSlot) -> None:
    _, emulator = card_slot.insert("visa_t1_ppse_pdol")
    pcsc_reader.wait_for_card(timeout=WAIT)
    data = terminal(amount=4_200_17)
    pcsc_reader.read_card(data).wipe()
    (sent,) = emulator.gpo_data
    # FULL_PDOL order: 9F66 TTQ, 9F02 amount, 9F03 other, 9F1A country, 95 TVR,
    # 5F2A currency, 9A date, 9C type, 9F37 UN, 9F35 (unknown), DF01 (unknown, 3 bytes).
    assert sent.hex().upper() == (
        "36008000"
        "000000420017"
        "000000000000"
        "0250"
        "0000000000"
        "0978"
        "251125"
        "00" + data.unpredictable_number.hex().upper() + "00" + "000000"
    )


def test_priority_decides_between_applications(
    pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    card, _ = card_slot.insert("visa_t1_ppse_pdol")
    pcsc_reader.wait_for_card(timeout=WAIT)
    pcsc_reader.read_card(terminal()).wipe()
    selects = [apdu for apdu in card.apdus if apdu[1] == 0xA4]
    # PPSE first, then the priority-1 Visa although the Electron app is listed first.
    assert selects[-1][5:12] == bytes.fromhex("A0000000031010")


def test_t0_card_gets_le_stripped_and_uses_get_response(
    pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    card, _ = card_slot.insert("visa_t0_pse")
    pcsc_reader.wait_for_card(timeout=WAIT)
    pcsc_reader.read_card(terminal()).wipe()
    instructions = [apdu[1] for apdu in card.apdus]
    assert 0xC0 in instructions  # GET RESPONSE after 61xx
    select = next(a for a in card.apdus if a[1] == 0xA4)
    assert len(select) == 5 + select[4]  # case 4 sent without Le under T=0
    read_records = [a for a in card.apdus if a[1] == 0xB2]
    assert any(a[4] != 0 for a in read_records)  # re-sent with the Le from 6Cxx


@pytest.mark.parametrize(
    ("profile", "error"),
    [
        # blocked-by-6283, not-a-payment-card and removed-mid-read run in the contract
        # tests for both drivers; these are PC/SC-only variants.
        ("card_blocked_6a81", CardBlockedError),
    ],
)
def test_typed_errors(
    profile: str, error: type[CardReaderError], pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    card_slot.insert(profile)
    pcsc_reader.wait_for_card(timeout=WAIT)
    with pytest.raises(error) as info:
        pcsc_reader.read_card(terminal())
    assert info.value.code == error.code
    assert info.value.message


def test_reader_busy_when_another_process_holds_it_exclusively(
    pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    card_slot.insert("mastercard_no_pdol")
    pcsc_reader.wait_for_card(timeout=WAIT)
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    hresult, handle, _ = scard.SCardConnect(
        context, VPCD_READER, scard.SCARD_SHARE_EXCLUSIVE, scard.SCARD_PROTOCOL_T1
    )
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        with pytest.raises(ReaderBusyError):
            pcsc_reader.read_card(terminal())
    finally:
        scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    pcsc_reader.read_card(terminal()).wipe()  # free again


def test_unknown_reader_is_no_reader(pcscd: Pcscd) -> None:
    reader = PcscCardReader("No Such Reader")
    assert reader.list_readers() == []
    with pytest.raises(NoReaderError):
        reader.wait_for_card(timeout=0.3)
    with pytest.raises(NoReaderError):
        reader.read_card(terminal())
    health = reader.health()
    assert health.pcscd_reachable
    assert not health.reader_present
    assert health.error_code == "no_reader"


def test_logs_never_contain_card_numbers(
    pcsc_reader: PcscCardReader, card_slot: CardSlot, caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    root.addHandler(keep)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    try:
        for profile in [*READABLE, "discover_removed_mid_read", "visa_blocked"]:
            card, _ = card_slot.insert(profile)
            pcsc_reader.wait_for_card(timeout=WAIT)
            try:
                data = pcsc_reader.read_card(terminal())
            except CardReaderError as exc:
                errors.append(str(exc))
            else:
                logging.getLogger("paydesk.kiosk").info("tokenizing %s", data)
                data.wipe()
            card.remove()
            pcsc_reader.wait_for_removal(timeout=WAIT)
    finally:
        root.removeHandler(keep)
    assert any(r.name.startswith("kiosk_devices.card_reader") for r in records)
    text = "\n".join([caplog.text, *errors, *(r.getMessage() for r in records)])
    for profile in PROFILES.values():
        for app in profile.apps:
            for needle in _pan_forms(app.pan):
                assert needle not in text, f"{app.brand} PAN leaked into logs"


def _pan_forms(pan: str) -> list[str]:
    padded = pan + ("F" if len(pan) % 2 else "")
    raw = bytes.fromhex(padded)
    return [
        pan,
        pan[:-4],  # everything but the displayable last four
        pan[6:-4] if len(pan) - 10 >= 6 else pan[:-4],  # the middle digits
        padded.lower(),
        " ".join(f"{b:02X}" for b in raw),
        " ".join(f"{b:02x}" for b in raw),
        repr(raw)[2:-1],
        str(list(raw))[1:-1],
    ]


def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = WAIT) -> None:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if any(text in r.getMessage() for r in list(caplog.records)):
                return
            done.wait(0.05)
    finally:
        deadline.cancel()
    pytest.fail(f"log line {text!r} never appeared")


def test_waiting_survives_a_pcscd_restart(
    pcscd: Pcscd, pcsc_reader: PcscCardReader, card_slot: CardSlot, caplog: pytest.LogCaptureFixture
) -> None:
    if not pcscd.owned:
        pytest.skip("pcscd was already running and is not ours to restart")
    caplog.set_level(logging.DEBUG, logger="kiosk_devices.card_reader")
    started = threading.Event()

    def wait() -> str:
        started.set()
        return pcsc_reader.wait_for_card(timeout=45)

    thread, outcome = run_in_thread(wait)
    assert started.wait(timeout=5)
    # Restart only once the waiter really is inside SCardGetStatusChange on a live context.
    _wait_for_log(caplog, "card readers now")
    pcscd.restart()
    assert thread.is_alive(), outcome
    card_slot.insert("mastercard_no_pdol")
    thread.join(timeout=45)
    assert outcome.get("result") == VPCD_READER, outcome
    assert "re-establishing context" in caplog.text
    pcsc_reader.read_card(terminal()).wipe()


def test_pcscd_down_is_reported_and_recovered(
    pcscd: Pcscd, pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    if not pcscd.owned:
        pytest.skip("pcscd was already running and is not ours to stop")
    pcscd.stop()
    try:
        health = pcsc_reader.health()
        assert not health.pcscd_reachable
        assert health.error_code == "pcsc_unavailable"
        with pytest.raises(PcscUnavailableError):
            pcsc_reader.read_card(terminal())
        with pytest.raises(PcscUnavailableError):
            pcsc_reader.list_readers()
        with pytest.raises(PcscUnavailableError):
            pcsc_reader.wait_for_card(timeout=0.5)
    finally:
        pcscd.start()
    assert pcsc_reader.health().ok


# A read that is never allowed to finish by itself in these tests: only the deadline
# under test or the cancel can end it.
STUCK_READ_DEADLINE = 2.0


@pytest.mark.timeout(120)
def test_a_card_that_stops_answering_mid_command_ends_the_read_at_its_deadline(
    pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    card, emulator = card_slot.insert("visa_stops_answering")
    pcsc_reader.wait_for_card(timeout=WAIT)
    with pytest.raises(CardNotAnsweringError) as info:
        pcsc_reader.read_card(terminal(), timeout=STUCK_READ_DEADLINE)
    assert emulator.stuck.is_set()  # it really was stuck mid-command, still inserted
    assert card.inserted
    assert info.value.code == "card_not_answering"
    assert "remove it" in info.value.message

    # Pulled out, the stuck read lets go of the reader and the next card reads.
    card_slot.remove_all()
    card_slot.insert("mastercard_no_pdol")
    pcsc_reader.wait_for_card(timeout=WAIT)
    with pcsc_reader.read_card(terminal()) as good:
        assert good.last4 == "4444"


@pytest.mark.timeout(120)
def test_the_kiosk_screen_cancels_a_read_from_another_thread(
    pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    _, emulator = card_slot.insert("visa_stops_answering")
    pcsc_reader.wait_for_card(timeout=WAIT)
    cancel = threading.Event()
    thread, outcome = run_in_thread(
        lambda: pcsc_reader.read_card(terminal(), timeout=3600, cancel=cancel)
    )
    assert emulator.stuck.wait(timeout=WAIT)
    assert thread.is_alive()
    cancel.set()  # what the screen's Cancel button does, from the UI thread
    thread.join(timeout=WAIT)
    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, WaitCancelledError), outcome
    assert error.code == "cancelled"
    assert error.message == "Card reading was cancelled."


def test_cancel_set_before_a_read_cancels_it_and_a_healthy_read_ignores_the_deadline(
    pcsc_reader: PcscCardReader, card_slot: CardSlot
) -> None:
    card_slot.insert("visa_t1_ppse_pdol")
    pcsc_reader.wait_for_card(timeout=WAIT)
    cancel = threading.Event()
    with pcsc_reader.read_card(terminal(), timeout=WAIT, cancel=cancel) as card:
        assert card.last4 == "0010"
    cancel.set()
    with pytest.raises(WaitCancelledError):
        pcsc_reader.read_card(terminal(), cancel=cancel)
