"""CardData is PCI-toxic: masked everywhere, not serialisable, wipeable."""

from __future__ import annotations

import copy
import logging
import pickle
from datetime import date

import pytest

from kiosk_devices.card_reader import CardBrand, CardData, CardDataWipedError, TerminalData
from kiosk_devices.card_reader.brand import brand_for_aid
from kiosk_devices.card_reader.card_data import luhn_valid
from kiosk_devices.card_reader.terminal import build_dol_data

PAN = "4242424242424242"
TRACK2 = f"{PAN}=30122010000000000000"


def make_card() -> tuple[CardData, bytearray, bytearray]:
    pan = bytearray(PAN.encode())
    track2 = bytearray(TRACK2.encode())
    card = CardData(
        pan=pan,
        expiry_year=2030,
        expiry_month=12,
        brand=CardBrand.VISA,
        aid=bytes.fromhex("A0000000031010"),
        cardholder_name="SANDBOX/VISA",
        track2=track2,
    )
    return card, pan, track2


def renderings(card: CardData) -> list[str]:
    return [
        repr(card),
        str(card),
        f"{card}",
        f"{card!r}",
        f"{card:>120}",
        "{}".format(card),  # noqa: UP032 - exercising str.format on purpose
        "%s %r" % (card, card),  # noqa: UP031 - exercising %-formatting on purpose
        repr([card]),
        repr({"card": card}),
    ]


def test_all_renderings_are_masked() -> None:
    card, _, _ = make_card()
    for text in renderings(card):
        assert PAN not in text
        assert PAN[:12] not in text
        assert "SANDBOX" not in text
        assert "3012" not in text
    assert repr(card) == (
        "CardData(brand=visa, pan=************4242, expiry=<redacted>, name=<redacted>, "
        "track2=<redacted>)"
    )


def test_logging_a_card_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    card, _, _ = make_card()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("paydesk.test").info("read %s / %r", card, card)
    assert "************4242" in caplog.text
    assert PAN not in caplog.text


def test_accessors() -> None:
    card, _, _ = make_card()
    assert card.last4 == "4242"
    assert card.masked_pan == "************4242"
    assert card.brand is CardBrand.VISA
    assert (card.expiry_month, card.expiry_year) == (12, 2030)
    assert card.cardholder_name == "SANDBOX/VISA"
    assert card.reveal_pan() == PAN
    assert card.reveal_track2() == TRACK2
    assert card.has_track2


def test_wipe_zeroes_buffers_and_blocks_access() -> None:
    card, pan, track2 = make_card()
    card.wipe()
    assert pan == bytearray(len(PAN))
    assert track2 == bytearray(len(TRACK2))
    assert card.wiped
    assert not card.has_track2
    for access in (card.reveal_pan, card.reveal_track2):
        with pytest.raises(CardDataWipedError):
            access()
    with pytest.raises(CardDataWipedError):
        _ = card.expiry_month
    with pytest.raises(CardDataWipedError):
        _ = card.cardholder_name
    # What a receipt needs survives.
    assert card.last4 == "4242"
    assert card.brand is CardBrand.VISA
    assert "wiped" in repr(card)


def test_context_manager_wipes() -> None:
    card, pan, _ = make_card()
    with card as same:
        assert same.reveal_pan() == PAN
    assert pan == bytearray(len(PAN))


def test_cannot_be_pickled_or_copied() -> None:
    card, _, _ = make_card()
    with pytest.raises(TypeError):
        pickle.dumps(card)
    with pytest.raises(TypeError):
        copy.copy(card)
    with pytest.raises(TypeError):
        copy.deepcopy(card)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pan": PAN}, "bytearray"),
        ({"pan": bytearray(b"42424242x2424242")}, "digits"),
        ({"expiry_month": 13}, "expiry"),
        ({"track2": bytearray(b"4242D")}, "track 2"),
    ],
)
def test_construction_is_validated(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "pan": bytearray(PAN.encode()),
        "expiry_year": 2030,
        "expiry_month": 12,
        "brand": CardBrand.VISA,
        "aid": b"\xa0\x00\x00\x00\x03\x10\x10",
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        CardData(**base)  # type: ignore[arg-type]


def test_luhn() -> None:
    assert luhn_valid(b"4242424242424242")
    assert luhn_valid(b"378282246310005")
    assert not luhn_valid(b"4242424242424241")
    assert not luhn_valid(b"")


@pytest.mark.parametrize(
    ("aid", "brand"),
    [
        ("A0000000031010", CardBrand.VISA),
        ("A0000000032010", CardBrand.VISA_ELECTRON),
        ("A0000000032020", CardBrand.VISA),  # V PAY: known by RID only
        ("A0000000041010", CardBrand.MASTERCARD),
        ("A0000000043060", CardBrand.MAESTRO),
        ("A000000025010801", CardBrand.AMEX),
        ("A0000001523010", CardBrand.DISCOVER),
        ("A0000002771010", CardBrand.INTERAC),
        ("A0000006581010", CardBrand.UNKNOWN),
    ],
)
def test_brand_by_aid(aid: str, brand: CardBrand) -> None:
    assert brand_for_aid(bytes.fromhex(aid)) is brand


def test_pdol_is_filled_from_terminal_data() -> None:
    terminal = TerminalData(
        amount_minor=12345,
        currency_numeric=978,
        country_numeric=250,
        transaction_date=date(2025, 11, 25),
        unpredictable_number=bytes.fromhex("DEADBEEF"),
    )
    dol = [
        (0x9F02, 6),
        (0x5F2A, 2),
        (0x9F1A, 2),
        (0x9A, 3),
        (0x9C, 1),
        (0x9F37, 4),
        (0x95, 5),
        (0x9F66, 4),
        (0x9F35, 1),  # unknown to the terminal: zeros
        (0x9F02, 4),  # numeric, shorter than natural: leftmost bytes cut
        (0x9F37, 6),  # binary, longer than natural: right-padded
    ]
    data = build_dol_data(dol, terminal)
    assert data.hex().upper() == (
        "0000000123450978025025112500DEADBEEF0000000000360080000000012345DEADBEEF0000"
    )


def test_terminal_data_generates_fresh_unpredictable_numbers() -> None:
    numbers = {
        TerminalData(100, 978, 250, date(2025, 1, 1)).unpredictable_number for _ in range(20)
    }
    assert len(numbers) > 1
    with pytest.raises(ValueError, match="amount"):
        TerminalData(-1, 978, 250, date(2025, 1, 1))
