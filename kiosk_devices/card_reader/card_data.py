"""The card data read from a payment card: PCI-toxic, masked, wipeable.

A :class:`CardData` exists for the few hundred milliseconds between the EMV read and the
gateway's card-present tokenization call.  It is designed so that the usual ways data
leaks from a Python process cannot print it: ``repr``/``str``/``format`` are masked, it
refuses to be pickled or copied, and :meth:`CardData.wipe` zeroes the PAN and track-2
buffers in place.  Python cannot guarantee that no other copy exists (the APDU layer
handled immutable ``bytes``), so wiping is best effort, but it keeps the long-lived
object clean and makes every read of the clear PAN an explicit ``reveal_*`` call.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any, NoReturn

from .brand import CardBrand
from .errors import CardDataWipedError

__all__ = ["CardData", "luhn_valid"]

_DIGITS = frozenset(b"0123456789")
_TRACK2_CHARS = _DIGITS | {ord("=")}


def luhn_valid(digits: bytes | bytearray) -> bool:
    """Luhn (mod 10) check over ASCII digits; False for anything that is not digits."""
    if not digits or any(d not in _DIGITS for d in digits):
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = char - 0x30
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class CardData:
    """PAN, expiry, cardholder name and track-2 equivalent data of one card read.

    The PAN and track 2 are stored as ASCII digits in ``bytearray`` buffers that this
    object takes ownership of (they are not copied, so :meth:`wipe` also zeroes the
    caller's buffers).  Track 2 uses ``=`` as field separator, as on a magnetic stripe.

    Use as a context manager to guarantee the wipe::

        with reader.read_card(terminal) as card:
            token = gateway.tokenize_card_present(card.reveal_pan(), ...)
    """

    __slots__ = (
        "_aid",
        "_brand",
        "_expiry_month",
        "_expiry_year",
        "_last4",
        "_name",
        "_pan",
        "_track2",
        "_wiped",
    )

    def __init__(
        self,
        *,
        pan: bytearray,
        expiry_year: int,
        expiry_month: int,
        brand: CardBrand,
        aid: bytes,
        cardholder_name: str | None = None,
        track2: bytearray | None = None,
    ) -> None:
        if not isinstance(pan, bytearray) or not 12 <= len(pan) <= 19:
            raise ValueError("PAN must be a bytearray of 12 to 19 ASCII digits")
        if any(d not in _DIGITS for d in pan):
            raise ValueError("PAN must contain ASCII digits only")
        if track2 is not None and (
            not isinstance(track2, bytearray) or any(c not in _TRACK2_CHARS for c in track2)
        ):
            raise ValueError("track 2 must be a bytearray of ASCII digits and '='")
        if not 1 <= expiry_month <= 12 or not 2000 <= expiry_year <= 2099:
            raise ValueError("expiry out of range")
        self._pan = pan
        self._track2 = track2
        self._name = cardholder_name
        self._expiry_year = expiry_year
        self._expiry_month = expiry_month
        self._brand = brand
        self._aid = bytes(aid)
        # Last four digits are not sensitive under PCI DSS (receipts print them) and
        # must survive wipe() so the kiosk can still show "Visa •••• 4242".
        self._last4 = pan[-4:].decode("ascii")
        self._wiped = False

    # --- non-sensitive attributes -------------------------------------------------
    @property
    def brand(self) -> CardBrand:
        """Scheme of the selected application."""
        return self._brand

    @property
    def aid(self) -> bytes:
        """AID of the application that was read."""
        return self._aid

    @property
    def last4(self) -> str:
        """Last four PAN digits (still available after :meth:`wipe`)."""
        return self._last4

    @property
    def masked_pan(self) -> str:
        """PAN with all but the last four digits replaced by ``*``."""
        return "*" * (len(self._pan) - 4) + self._last4

    @property
    def wiped(self) -> bool:
        """Whether :meth:`wipe` has run."""
        return self._wiped

    # --- sensitive attributes -----------------------------------------------------
    @property
    def expiry_month(self) -> int:
        """Expiry month 1-12."""
        self._check()
        return self._expiry_month

    @property
    def expiry_year(self) -> int:
        """Four-digit expiry year."""
        self._check()
        return self._expiry_year

    @property
    def cardholder_name(self) -> str | None:
        """Name as personalised on the chip (often absent on contactless cards)."""
        self._check()
        return self._name

    @property
    def has_track2(self) -> bool:
        """Whether track-2 equivalent data (tag 57) was read."""
        return self._track2 is not None and not self._wiped

    def reveal_pan(self) -> str:
        """The clear PAN, for the gateway call only. Never log or store the result."""
        self._check()
        return self._pan.decode("ascii")

    def reveal_track2(self) -> str | None:
        """Clear track-2 equivalent data (``PAN=YYMMSSS…``), for the gateway call only."""
        self._check()
        return None if self._track2 is None else self._track2.decode("ascii")

    def wipe(self) -> None:
        """Overwrite the PAN and track-2 buffers with zeros and drop the other fields."""
        for buf in (self._pan, self._track2):
            if buf is not None:
                buf[:] = bytes(len(buf))
        self._name = None
        self._expiry_year = 0
        self._expiry_month = 0
        self._wiped = True

    def _check(self) -> None:
        if self._wiped:
            raise CardDataWipedError()

    # --- leak prevention ----------------------------------------------------------
    def __repr__(self) -> str:
        if self._wiped:
            return f"CardData(brand={self._brand}, pan={self.masked_pan}, wiped)"
        return (
            f"CardData(brand={self._brand}, pan={self.masked_pan}, expiry=<redacted>, "
            f"name=<redacted>, track2={'<redacted>' if self._track2 is not None else None})"
        )

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        # Any format spec ("{card:>40}", "{card!s}") goes through the masked repr.
        return format(repr(self), format_spec)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        # Pickling would be the easiest way to persist a PAN by accident (queues,
        # caches, multiprocessing); copy/deepcopy go through here as well.
        raise TypeError("CardData must not be pickled or copied")

    def __enter__(self) -> CardData:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wipe()

    def __del__(self) -> None:
        # Last line of defence for a caller who forgot to wipe: zero before the memory
        # goes back to the allocator.
        with contextlib.suppress(Exception):  # a finaliser must never raise
            self.wipe()
