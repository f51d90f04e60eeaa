"""The interface the kiosk runtime programs against, whatever the driver."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .card_data import CardData
from .terminal import TerminalData

__all__ = ["CardReader", "ReaderHealth"]


@dataclass(frozen=True, slots=True)
class ReaderHealth:
    """Snapshot for the kiosk's health endpoint and the staff console.

    ``error_code`` is the :attr:`CardReaderError.code` that best explains an unhealthy
    state (``pcsc_unavailable``, ``no_reader``) or ``None`` when healthy.
    """

    pcscd_reachable: bool
    readers: tuple[str, ...]
    card_present: bool = False
    error_code: str | None = None

    @property
    def reader_present(self) -> bool:
        """At least one (matching) reader is connected."""
        return bool(self.readers)

    @property
    def ok(self) -> bool:
        """Service reachable and a reader connected."""
        return self.pcscd_reachable and self.reader_present


@runtime_checkable
class CardReader(Protocol):
    """A payment-card reader as the kiosk sees it.

    All methods are blocking and safe to call from a worker thread; a single reader
    object may be used from several threads (each call opens its own PC/SC context).
    Every failure is a :class:`~kiosk_devices.card_reader.errors.CardReaderError`.
    """

    def list_readers(self) -> list[str]:
        """Names of the connected readers this driver will use (may be empty).

        Raises ``PcscUnavailableError`` when the reader service cannot be reached.
        """
        ...

    def wait_for_card(self, *, timeout: float, cancel: threading.Event | None = None) -> str:
        """Block until a card is present in a reader; return that reader's name.

        Survives the reader service restarting and readers being unplugged and
        plugged back while waiting.  Raises ``NoCardError`` at ``timeout`` seconds
        (``PcscUnavailableError`` / ``NoReaderError`` instead if that is why nothing
        could be seen) and ``WaitCancelledError`` soon after ``cancel`` is set.
        """
        ...

    def wait_for_removal(
        self, *, timeout: float, cancel: threading.Event | None = None, reader: str | None = None
    ) -> bool:
        """Block until no card is present (in ``reader``, or in any reader).

        Returns ``True`` once removed, ``False`` at ``timeout``; raises
        ``WaitCancelledError`` when ``cancel`` is set.
        """
        ...

    def read_card(
        self,
        terminal: TerminalData,
        *,
        reader: str | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CardData:
        """Read the payment card in ``reader`` (default: the first reader with a card).

        Runs the EMV read with ``terminal`` filling the card's PDOL.  The caller owns the
        returned :class:`CardData` and must :meth:`~CardData.wipe` it after tokenizing.
        The whole read ends within ``timeout`` seconds (``None``: the driver's default)
        with ``CardNotAnsweringError`` when the card stops answering, and soon after
        ``cancel`` is set (from any thread: the kiosk screen's Cancel button) with
        ``WaitCancelledError``; a card still stuck is released once it is pulled out.
        """
        ...

    def health(self) -> ReaderHealth:
        """Report service reachability, connected readers and card presence. Never raises."""
        ...
