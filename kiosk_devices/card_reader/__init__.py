"""Payment-card reader drivers for the lobby kiosk.

The kiosk runtime programs against :class:`CardReader` and gets an implementation from
:func:`open_card_reader`: ``"pcsc"`` for real readers through pcscd, ``"simulated"`` for
demos.  A read returns a :class:`CardData` that must be wiped after tokenization.
"""

from __future__ import annotations

from typing import Literal

from .brand import CardBrand
from .card_data import CardData
from .errors import (
    CardBlockedError,
    CardDataWipedError,
    CardNotAnsweringError,
    CardReaderError,
    CardRemovedError,
    CardUnreadableError,
    NoCardError,
    NoReaderError,
    NotPaymentCardError,
    PcscUnavailableError,
    ReaderBusyError,
    WaitCancelledError,
)
from .protocol import CardReader, ReaderHealth
from .terminal import TerminalData

__all__ = [
    "CardBlockedError",
    "CardBrand",
    "CardData",
    "CardDataWipedError",
    "CardNotAnsweringError",
    "CardReader",
    "CardReaderError",
    "CardRemovedError",
    "CardUnreadableError",
    "NoCardError",
    "NoReaderError",
    "NotPaymentCardError",
    "PcscUnavailableError",
    "ReaderBusyError",
    "ReaderHealth",
    "TerminalData",
    "WaitCancelledError",
    "open_card_reader",
]


def open_card_reader(
    driver: Literal["pcsc", "simulated"], *, reader_name: str | None = None
) -> CardReader:
    """Create the configured driver.

    ``reader_name`` (pcsc only) restricts the driver to readers whose name contains it.
    Drivers are imported lazily so the simulated one works on machines without
    libpcsclite.
    """
    if driver == "pcsc":
        from .pcsc import PcscCardReader

        return PcscCardReader(reader_name)
    if driver == "simulated":
        from .simulated import SimulatedCardReader

        return SimulatedCardReader()
    raise ValueError(f"unknown card reader driver {driver!r}")
