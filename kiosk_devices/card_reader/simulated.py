"""Simulated card reader for demos and kiosk development without hardware.

The developer picks a card from :data:`SIMULATED_PROFILES` (sandbox test PANs only) and
calls :meth:`SimulatedCardReader.insert`.  Reads go through the real EMV flow in
:mod:`.emv` against an in-memory card that answers APDUs, so the kiosk sees exactly the
behaviour (and errors) of the PC/SC driver.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .card_data import CardData
from .emv import PPSE, read_payment_card
from .errors import CardRemovedError, NoCardError, NoReaderError, WaitCancelledError
from .protocol import ReaderHealth
from .terminal import TerminalData
from .tlv import Tlv, encode, encode_many, parse_dol

__all__ = ["SIMULATED_PROFILES", "SimulatedCardReader", "SimulatedProfile"]

Fault = Literal["blocked", "not_payment", "removed_mid_read", "unreadable"]

_VISA = bytes.fromhex("A0000000031010")
_MASTERCARD = bytes.fromhex("A0000000041010")
_AMEX = bytes.fromhex("A000000025010801")
_DISCOVER = bytes.fromhex("A0000001523010")
# PDOL asking for amount, currency, country, date, unpredictable number, TTQ.
_FULL_PDOL = bytes.fromhex("9F66049F02069F37045F2A029F1A029A03")


@dataclass(frozen=True, slots=True)
class SimulatedProfile:
    """A sandbox card. ``fault`` makes the card misbehave in one specific way."""

    name: str
    description: str
    aid: bytes
    pan: str
    expiry_yymm: str
    cardholder: str
    pdol: bytes = b""
    fault: Fault | None = None


def _profiles(*profiles: SimulatedProfile) -> Mapping[str, SimulatedProfile]:
    return MappingProxyType({p.name: p for p in profiles})


SIMULATED_PROFILES: Mapping[str, SimulatedProfile] = _profiles(
    SimulatedProfile(
        "visa", "Visa credit", _VISA, "4242424242424242", "3012", "SANDBOX/VISA", _FULL_PDOL
    ),
    SimulatedProfile(
        "visa_debit",
        "Visa debit",
        _VISA,
        "4000056655665556",
        "2911",
        "SANDBOX/VISA DEBIT",
        _FULL_PDOL,
    ),
    SimulatedProfile(
        "mastercard",
        "Mastercard, no PDOL",
        _MASTERCARD,
        "5555555555554444",
        "3106",
        "SANDBOX/MASTERCARD",
    ),
    SimulatedProfile(
        "mastercard_2series",
        "Mastercard 2-series BIN",
        _MASTERCARD,
        "2223003122003222",
        "2805",
        "SANDBOX/MC TWO",
    ),
    SimulatedProfile("amex", "American Express", _AMEX, "378282246310005", "2909", "SANDBOX/AMEX"),
    SimulatedProfile(
        "discover", "Discover", _DISCOVER, "6011111111111117", "3003", "SANDBOX/DISCOVER"
    ),
    # Cards the reader reads fine and the sandbox processor answers badly (its test
    # cards in shared/gateway/sandbox/cards.py): a decline, insufficient funds, and no
    # answer in time, the payment then found approved or declined.
    SimulatedProfile(
        "declined", "Visa, declined", _VISA, "4000000000000002", "3012", "SANDBOX/DECLINED"
    ),
    SimulatedProfile(
        "insufficient_funds",
        "Visa, no funds",
        _VISA,
        "4000000000009995",
        "3012",
        "SANDBOX/NO FUNDS",
        _FULL_PDOL,
    ),
    SimulatedProfile(
        "timeout_approved",
        "Visa, slow yes",
        _VISA,
        "4000000000000119",
        "3012",
        "SANDBOX/SLOW YES",
    ),
    SimulatedProfile(
        "timeout_declined",
        "Visa, slow no",
        _VISA,
        "4000000000000127",
        "3012",
        "SANDBOX/SLOW NO",
    ),
    SimulatedProfile(
        "blocked",
        "Blocked Visa (6283 on SELECT)",
        _VISA,
        "4000000000000002",
        "3012",
        "SANDBOX/BLOCKED",
        fault="blocked",
    ),
    SimulatedProfile(
        "not_payment",
        "Library card, no EMV application",
        _VISA,
        "4242424242424242",
        "3012",
        "",
        fault="not_payment",
    ),
    SimulatedProfile(
        "removed_mid_read",
        "Card pulled out during READ RECORD",
        _VISA,
        "4242424242424242",
        "3012",
        "SANDBOX/VISA",
        fault="removed_mid_read",
    ),
    SimulatedProfile(
        "unreadable",
        "Card returning corrupt records",
        _VISA,
        "4242424242424242",
        "3012",
        "SANDBOX/VISA",
        fault="unreadable",
    ),
)

_SW_OK = b"\x90\x00"


def _bcd_digits(digits: str) -> bytes:
    padded = digits + ("F" if len(digits) % 2 else "")
    return bytes.fromhex(padded)


class _SimulatedCard:
    """In-memory EMV card implementing ``ApduTransport`` for one profile."""

    t0 = False

    def __init__(self, profile: SimulatedProfile, owner: SimulatedCardReader) -> None:
        self._p = profile
        self._owner = owner

    def transmit_raw(self, apdu: bytes) -> bytes:
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4:
            return self._select(data)
        if ins == 0xA8:
            return self._gpo(data)
        if ins == 0xB2 and p1 == 1 and p2 == (1 << 3) | 4:
            return self._record()
        return b"\x6a\x83" if ins == 0xB2 else b"\x6d\x00"

    def _select(self, name: bytes) -> bytes:
        p = self._p
        if p.fault == "not_payment":
            return b"\x6a\x82"
        if name == PPSE:
            entry = Tlv.constructed_of(0x61, [Tlv.primitive(0x4F, p.aid), Tlv(0x87, b"\x01")])
            fci = Tlv.constructed_of(
                0x6F,
                [
                    Tlv.primitive(0x84, PPSE),
                    Tlv.constructed_of(0xA5, [Tlv.constructed_of(0xBF0C, [entry])]),
                ],
            )
            return encode(fci) + _SW_OK
        if name != p.aid:
            return b"\x6a\x82"
        if p.fault == "blocked":
            return b"\x62\x83"
        prop = [Tlv.primitive(0x50, p.description.encode()[:16])]
        if p.pdol:
            prop.append(Tlv.primitive(0x9F38, p.pdol))
        fci = Tlv.constructed_of(0x6F, [Tlv.primitive(0x84, p.aid), Tlv.constructed_of(0xA5, prop)])
        return encode(fci) + _SW_OK

    def _gpo(self, data: bytes) -> bytes:
        expected = sum(length for _tag, length in parse_dol(self._p.pdol))
        if data[:1] != b"\x83" or len(data) != 2 + expected:
            return b"\x67\x00"
        self._owner.last_pdol_data = bytes(data[2:])
        # Format 1: AIP 1980 then AFL "SFI 1, record 1 to 1, none for offline auth".
        return bytes.fromhex("8006198008010100") + _SW_OK

    def _record(self) -> bytes:
        p = self._p
        if p.fault == "removed_mid_read":
            self._owner.remove()
            raise CardRemovedError(detail="simulated removal during READ RECORD")
        if p.fault == "unreadable":
            return bytes.fromhex("70851234") + _SW_OK
        track2 = _bcd_digits(f"{p.pan}D{p.expiry_yymm}2011000000000")
        record = [
            Tlv.primitive(0x57, track2),
            Tlv.primitive(0x5A, _bcd_digits(p.pan)),
            Tlv.primitive(0x5F24, bytes.fromhex(p.expiry_yymm + "31")),
            Tlv.primitive(0x5F20, p.cardholder.encode("ascii")),
        ]
        return encode(Tlv(0x70, encode_many(record), tuple(record))) + _SW_OK


class SimulatedCardReader:
    """:class:`CardReader` with a virtual reader and sandbox cards.

    Thread-safe: the kiosk waits in one thread while a demo control (a dev-only
    button, a CLI) calls :meth:`insert` / :meth:`remove` from another.
    """

    reader_name = "Paydesk Simulated Reader 00"

    def __init__(self, *, connected: bool = True) -> None:
        self._cond = threading.Condition()
        self._profile: SimulatedProfile | None = None
        self._connected = connected
        #: PDOL data of the last GET PROCESSING OPTIONS (demo/debug aid; no card data).
        self.last_pdol_data: bytes | None = None

    @staticmethod
    def profiles() -> Mapping[str, SimulatedProfile]:
        """The available sandbox cards by name."""
        return SIMULATED_PROFILES

    def insert(self, profile: str) -> None:
        """Put the named sandbox card in the reader."""
        if profile not in SIMULATED_PROFILES:
            raise ValueError(
                f"unknown profile {profile!r}; choose from {sorted(SIMULATED_PROFILES)}"
            )
        with self._cond:
            self._profile = SIMULATED_PROFILES[profile]
            self._cond.notify_all()

    def remove(self) -> None:
        """Take the card out."""
        with self._cond:
            self._profile = None
            self._cond.notify_all()

    def set_connected(self, connected: bool) -> None:
        """Simulate plugging the reader in or out (unplugging also removes the card)."""
        with self._cond:
            self._connected = connected
            if not connected:
                self._profile = None
            self._cond.notify_all()

    def list_readers(self) -> list[str]:
        """The single virtual reader, if "plugged in"."""
        with self._cond:
            return [self.reader_name] if self._connected else []

    def _wait(self, ready: bool, timeout: float, cancel: threading.Event | None) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._profile is not None) != ready:
                if cancel is not None and cancel.is_set():
                    raise WaitCancelledError()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # Short slices so a set cancel event is noticed without a notify.
                self._cond.wait(min(remaining, 0.05))
            return True

    def wait_for_card(self, *, timeout: float, cancel: threading.Event | None = None) -> str:
        """Block until :meth:`insert` is called; return the reader name."""
        if self._wait(True, timeout, cancel):
            return self.reader_name
        if not self._connected:
            raise NoReaderError(detail="simulated reader unplugged")
        raise NoCardError(detail=f"no card within {timeout:g}s")

    def wait_for_removal(
        self, *, timeout: float, cancel: threading.Event | None = None, reader: str | None = None
    ) -> bool:
        """Block until :meth:`remove` is called."""
        return self._wait(False, timeout, cancel)

    def read_card(
        self,
        terminal: TerminalData,
        *,
        reader: str | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CardData:
        """Run the real EMV read flow against the inserted sandbox card.

        The in-memory card answers at once, so ``timeout`` is never reached; a
        ``cancel`` already set cancels the read.
        """
        if cancel is not None and cancel.is_set():
            raise WaitCancelledError(detail="cancelled before the read")
        with self._cond:
            connected, profile = self._connected, self._profile
        if not connected or (reader is not None and reader != self.reader_name):
            raise NoReaderError()
        if profile is None:
            raise NoCardError(detail="no simulated card inserted")
        return read_payment_card(_SimulatedCard(profile, self), terminal)

    def health(self) -> ReaderHealth:
        """Always reachable; reader present unless unplugged."""
        with self._cond:
            readers = (self.reader_name,) if self._connected else ()
            return ReaderHealth(
                True, readers, self._profile is not None, None if readers else NoReaderError.code
            )
