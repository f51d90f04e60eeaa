"""The CardReader contract, run against both drivers (pcsc over vpcd, and simulated)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from kiosk_devices.card_reader import (
    CardBlockedError,
    CardReader,
    CardReaderError,
    CardRemovedError,
    NoCardError,
    NotPaymentCardError,
    TerminalData,
    WaitCancelledError,
    open_card_reader,
)
from kiosk_devices.card_reader.brand import brand_for_aid
from kiosk_devices.card_reader.simulated import SIMULATED_PROFILES, SimulatedCardReader

from .card_reader_emv_cards import PROFILES
from .card_reader_support import CardSlot, run_in_thread
from .card_reader_vicc import VPCD_READER

WAIT = 15.0


@dataclass(frozen=True)
class Expected:
    pan: str
    brand: str
    expiry_yymm: str
    cardholder: str


@dataclass
class Harness:
    """A driver plus a way to put contract cards into it."""

    reader: CardReader
    insert: Callable[[str], None]
    remove: Callable[[], None]
    expected: Callable[[str], Expected]


# Contract card name -> emulator profile behind vpcd.
PCSC_CARDS = {
    "visa": "visa_t1_ppse_pdol",
    "mastercard": "mastercard_no_pdol",
    "blocked": "visa_blocked",
    "not_payment": "not_payment",
    "removed_mid_read": "discover_removed_mid_read",
}


def _pcsc_harness(request: pytest.FixtureRequest) -> Harness:
    slot: CardSlot = request.getfixturevalue("card_slot")
    reader: CardReader = request.getfixturevalue("pcsc_reader")

    def insert(name: str) -> None:
        slot.insert(PCSC_CARDS[name])

    def remove() -> None:
        for card in slot.cards:
            card.remove()

    def expected(name: str) -> Expected:
        app = PROFILES[PCSC_CARDS[name]].expected
        return Expected(app.pan, app.brand, app.expiry_yymm, app.cardholder)

    return Harness(reader, insert, remove, expected)


def _simulated_harness() -> Harness:
    reader = SimulatedCardReader()

    def expected(name: str) -> Expected:
        p = SIMULATED_PROFILES[name]
        return Expected(p.pan, str(brand_for_aid(p.aid)), p.expiry_yymm, p.cardholder)

    return Harness(reader, reader.insert, reader.remove, expected)


@pytest.fixture(params=["pcsc", "simulated"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "pcsc":
        yield _pcsc_harness(request)
    else:
        yield _simulated_harness()


def terminal() -> TerminalData:
    return TerminalData(
        amount_minor=2500, currency_numeric=978, country_numeric=250, transaction_date=date.today()
    )


def test_is_a_card_reader_and_healthy(harness: Harness) -> None:
    assert isinstance(harness.reader, CardReader)
    readers = harness.reader.list_readers()
    assert len(readers) == 1
    health = harness.reader.health()
    assert health.ok
    assert health.pcscd_reachable
    assert health.reader_present
    assert health.readers == tuple(readers)
    assert not health.card_present
    assert health.error_code is None


@pytest.mark.parametrize("card", ["visa", "mastercard"])
def test_reads_card(harness: Harness, card: str) -> None:
    harness.insert(card)
    reader_name = harness.reader.wait_for_card(timeout=WAIT)
    assert reader_name in harness.reader.list_readers()
    assert harness.reader.health().card_present
    want = harness.expected(card)
    data = harness.reader.read_card(terminal(), reader=reader_name)
    try:
        assert data.reveal_pan() == want.pan
        assert data.brand == want.brand
        assert data.last4 == want.pan[-4:]
        assert (data.expiry_year, data.expiry_month) == (
            2000 + int(want.expiry_yymm[:2]),
            int(want.expiry_yymm[2:]),
        )
        assert data.cardholder_name == want.cardholder
        assert want.pan not in repr(data)
    finally:
        data.wipe()


@pytest.mark.parametrize(
    ("card", "error"),
    [
        ("blocked", CardBlockedError),
        ("not_payment", NotPaymentCardError),
        ("removed_mid_read", CardRemovedError),
    ],
)
def test_typed_errors(harness: Harness, card: str, error: type[CardReaderError]) -> None:
    harness.insert(card)
    harness.reader.wait_for_card(timeout=WAIT)
    with pytest.raises(error) as info:
        harness.reader.read_card(terminal())
    assert info.value.code == error.code
    assert info.value.message
    assert "card" in info.value.message.lower()


def test_no_card(harness: Harness) -> None:
    with pytest.raises(NoCardError) as info:
        harness.reader.wait_for_card(timeout=0.3)
    assert info.value.code == "no_card"
    with pytest.raises(NoCardError):
        harness.reader.read_card(terminal())


def test_cancel(harness: Harness) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(WaitCancelledError):
        harness.reader.wait_for_card(timeout=30, cancel=cancel)
    cancel = threading.Event()
    thread, outcome = run_in_thread(lambda: harness.reader.wait_for_card(timeout=30, cancel=cancel))
    cancel.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), WaitCancelledError)


def test_read_with_a_deadline_and_cancel(harness: Harness) -> None:
    # The kiosk passes both on every read; a healthy card reads well within the deadline,
    # and a cancel set (the person pressed Cancel) stops the read with a clear error.
    harness.insert("visa")
    harness.reader.wait_for_card(timeout=WAIT)
    cancel = threading.Event()
    with harness.reader.read_card(terminal(), timeout=WAIT, cancel=cancel) as data:
        assert data.reveal_pan() == harness.expected("visa").pan
    cancel.set()
    with pytest.raises(WaitCancelledError) as info:
        harness.reader.read_card(terminal(), timeout=WAIT, cancel=cancel)
    assert info.value.message == "Card reading was cancelled."


def test_wait_for_removal(harness: Harness) -> None:
    harness.insert("visa")
    reader_name = harness.reader.wait_for_card(timeout=WAIT)
    assert harness.reader.wait_for_removal(timeout=0.2) is False
    harness.remove()
    assert harness.reader.wait_for_removal(timeout=WAIT, reader=reader_name) is True


def test_open_card_reader_factory() -> None:
    assert isinstance(open_card_reader("simulated"), SimulatedCardReader)
    pcsc = open_card_reader("pcsc", reader_name=VPCD_READER)
    assert isinstance(pcsc, CardReader)
    with pytest.raises(ValueError, match="unknown"):
        open_card_reader("bogus")  # type: ignore[arg-type]


def test_simulated_reader_unplugged() -> None:
    reader = SimulatedCardReader(connected=False)
    assert reader.list_readers() == []
    health = reader.health()
    assert not health.reader_present
    assert health.error_code == "no_reader"
    with pytest.raises(CardReaderError) as info:
        reader.wait_for_card(timeout=0.1)
    assert info.value.code == "no_reader"
    reader.set_connected(True)
    reader.insert("amex")
    assert reader.read_card(terminal()).last4 == "0005"
    with pytest.raises(ValueError, match="unknown profile"):
        reader.insert("no-such-card")
