"""PC/SC driver (pcsc-lite / WinSCard via pyscard's low-level ``smartcard.scard``)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from smartcard import scard

from .card_data import CardData
from .emv import read_payment_card
from .errors import (
    CardNotAnsweringError,
    CardReaderError,
    CardRemovedError,
    CardUnreadableError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
    WaitCancelledError,
)
from .pcsc_status import (
    CARD_GONE,
    SERVICE_GONE,
    SUCCESS,
    PcscContext,
    StatusWaiter,
    describe,
    error_for,
    is_present,
)
from .protocol import ReaderHealth
from .terminal import TerminalData

__all__ = ["PcscCardReader"]

logger = logging.getLogger(__name__)

# How long a removal is allowed to take to show up in pcscd after a failed transmit
# (pcscd polls IFD presence every ~0.4 s); beyond it we call the card unreadable.
_REMOVAL_CONFIRM_MS = 2000


class _PcscCard:
    """A connected card, implementing :class:`ApduTransport` over ``SCardTransmit``."""

    def __init__(
        self,
        context: PcscContext,
        reader: str,
        handle: Any,
        protocol: int,
        abandoned: threading.Event | None = None,
    ) -> None:
        self._context = context
        self._reader = reader
        self._handle = handle
        self._protocol = protocol
        self._abandoned = abandoned

    @property
    def t0(self) -> bool:
        return self._protocol == int(scard.SCARD_PROTOCOL_T0)

    def transmit_raw(self, apdu: bytes) -> bytes:
        if self._abandoned is not None and self._abandoned.is_set():
            # The caller gave up (deadline or cancel): send the card nothing more.
            raise WaitCancelledError(detail="read abandoned by the caller")
        hresult, response = scard.SCardTransmit(self._handle, self._protocol, list(apdu))
        hresult = int(hresult)
        if hresult == SUCCESS and len(response) >= 2:
            return bytes(response)
        if hresult == SUCCESS:
            # Some drivers (vpcd among them) report success with an empty response when
            # the card vanished mid-command; a response needs at least SW1 SW2.
            if self._card_was_removed():
                raise CardRemovedError(detail="transmit: empty response, card gone")
            raise CardUnreadableError(detail="transmit: response shorter than a status word")
        if hresult in SERVICE_GONE:
            raise PcscUnavailableError(detail=f"transmit: {describe(hresult)}")
        if hresult in CARD_GONE or self._card_was_removed():
            raise CardRemovedError(detail=f"transmit: {describe(hresult)}")
        raise CardUnreadableError(detail=f"transmit: {describe(hresult)}")

    def _card_was_removed(self) -> bool:
        # A card pulled mid-APDU usually surfaces as a generic transmit failure before
        # pcscd's presence poll has noticed; give it a bounded moment to notice.
        try:
            state = self._context.states([self._reader]).get(self._reader, 0)
            if not is_present(state):
                return True
            query = [(self._reader, state)]
            hresult, results = scard.SCardGetStatusChange(
                self._context.handle, _REMOVAL_CONFIRM_MS, query
            )
            if int(hresult) != SUCCESS:
                return int(hresult) != int(scard.SCARD_E_TIMEOUT)
            return not is_present(int(results[0][1]))
        except CardReaderError:
            return True

    def disconnect(self) -> None:
        # Reset so no application stays selected for whoever talks to the card next.
        with contextlib.suppress(Exception):  # card or daemon may already be gone
            scard.SCardDisconnect(self._handle, scard.SCARD_RESET_CARD)


class PcscCardReader:
    """:class:`CardReader` over PC/SC.

    ``reader_name`` selects readers whose name contains it (``None``: every reader).
    Each public call opens and releases its own PC/SC context, so one instance can be
    shared between the kiosk's UI thread and its health checker.
    """

    def __init__(
        self,
        reader_name: str | None = None,
        *,
        busy_timeout: float = 1.0,
        poll_slice: float = 0.25,
        retry_interval: float = 0.5,
        read_timeout: float = 15.0,
    ) -> None:
        """``read_timeout`` bounds a whole :meth:`read_card` (healthy cards take under
        a second); ``poll_slice`` is also how soon a set cancel event is noticed."""
        self._reader_name = reader_name
        self._read_timeout = read_timeout
        self._busy_timeout = busy_timeout
        self._poll_slice = poll_slice
        self._retry_interval = retry_interval

    def _matches(self, reader: str) -> bool:
        return self._reader_name is None or self._reader_name in reader

    def _waiter(self) -> StatusWaiter:
        return StatusWaiter(
            self._matches, slice_seconds=self._poll_slice, retry_seconds=self._retry_interval
        )

    def list_readers(self) -> list[str]:
        """Names of connected readers matching ``reader_name``."""
        with PcscContext() as context:
            return [r for r in context.list_readers() if self._matches(r)]

    def wait_for_card(self, *, timeout: float, cancel: threading.Event | None = None) -> str:
        """Block until a card is present; return the reader name (see :class:`CardReader`)."""
        waiter = self._waiter()

        def card_in(states: Mapping[str, int]) -> str | None:
            return next((r for r, s in states.items() if is_present(s)), None)

        try:
            reader = waiter.wait(card_in, deadline=time.monotonic() + timeout, cancel=cancel)
        finally:
            waiter.close()
        if reader is not None:
            logger.info("card present in %s", reader)
            return reader
        if not waiter.service_up:
            raise PcscUnavailableError(detail="pcscd unreachable until the wait timed out")
        if not waiter.readers:
            raise NoReaderError(detail="no reader connected until the wait timed out")
        raise NoCardError(detail=f"no card within {timeout:g}s")

    def wait_for_removal(
        self, *, timeout: float, cancel: threading.Event | None = None, reader: str | None = None
    ) -> bool:
        """Block until no card is present; ``False`` at timeout."""
        waiter = self._waiter()

        def card_out(states: Mapping[str, int]) -> str | None:
            watched = {r: s for r, s in states.items() if reader is None or r == reader}
            return None if any(is_present(s) for s in watched.values()) else "removed"

        try:
            result = waiter.wait(card_out, deadline=time.monotonic() + timeout, cancel=cancel)
        finally:
            waiter.close()
        return result is not None

    def read_card(
        self,
        terminal: TerminalData,
        *,
        reader: str | None = None,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CardData:
        """Connect to the card, run the EMV read, disconnect (resetting the card).

        A card that stops answering blocks ``SCardTransmit`` until it is pulled out,
        and pcsc-lite cannot interrupt a transmit from another thread.  So the read
        runs in a worker thread and this call waits for it at most ``timeout``
        seconds (default ``read_timeout``), raising ``CardNotAnsweringError``, or
        until ``cancel`` is set, raising ``WaitCancelledError``.  An abandoned worker
        sends no further command, wipes whatever it read late, and disconnects once
        its transmit returns (at the latest when the card is pulled out).
        """
        limit = self._read_timeout if timeout is None else timeout
        abandoned = threading.Event()
        finished = threading.Event()
        lock = threading.Lock()
        outcome: dict[str, object] = {}

        def work() -> None:
            try:
                card_data = self._read(terminal, reader, abandoned)
            except BaseException as exc:
                outcome["error"] = exc
            else:
                with lock:
                    if abandoned.is_set():
                        card_data.wipe()  # nobody is left to tokenize (or wipe) it
                    else:
                        outcome["card"] = card_data
            finally:
                finished.set()

        worker = threading.Thread(target=work, name="card-read", daemon=True)
        worker.start()
        deadline = time.monotonic() + limit
        while not finished.wait(max(0.0, min(self._poll_slice, deadline - time.monotonic()))):
            cancelled = cancel is not None and cancel.is_set()
            if cancelled or time.monotonic() >= deadline:
                with lock:
                    abandoned.set()
                    late = outcome.pop("card", None)
                if isinstance(late, CardData):
                    late.wipe()
                if cancelled:
                    logger.info("card read cancelled")
                    raise WaitCancelledError(detail="cancelled during the read")
                logger.warning("card read abandoned: no answer within %gs", limit)
                raise CardNotAnsweringError(detail=f"read not finished within {limit:g}s")
        error = outcome.get("error")
        if isinstance(error, BaseException):
            raise error
        card_data = outcome["card"]
        assert isinstance(card_data, CardData)
        return card_data

    def _read(
        self, terminal: TerminalData, reader: str | None, abandoned: threading.Event
    ) -> CardData:
        with PcscContext() as context:
            name = reader if reader is not None else self._reader_with_card(context)
            card = self._connect(context, name, abandoned)
            try:
                card_data = read_payment_card(card, terminal)
            finally:
                card.disconnect()
        logger.info("card read in %s: brand=%s", name, card_data.brand)
        return card_data

    def _reader_with_card(self, context: PcscContext) -> str:
        readers = [r for r in context.list_readers() if self._matches(r)]
        if not readers:
            raise NoReaderError()
        states = context.states(readers)
        for name in readers:
            if is_present(states.get(name, 0)):
                return name
        raise NoCardError(detail="no card in any reader")

    def _connect(
        self, context: PcscContext, reader: str, abandoned: threading.Event | None = None
    ) -> _PcscCard:
        # Exclusive: no other process may interleave APDUs with our read.  We retry a
        # sharing violation briefly (a desktop agent may be probing the card) instead of
        # using SCardBeginTransaction, whose pcsc-lite client retries it forever.
        deadline = time.monotonic() + self._busy_timeout
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        while True:
            hresult, handle, protocol = scard.SCardConnect(
                context.handle, reader, scard.SCARD_SHARE_EXCLUSIVE, protocols
            )
            hresult = int(hresult)
            if hresult == SUCCESS:
                logger.debug("connected to %s with T=%d", reader, 0 if protocol == 1 else 1)
                return _PcscCard(context, reader, handle, int(protocol), abandoned)
            if hresult != scard.SCARD_E_SHARING_VIOLATION or time.monotonic() >= deadline:
                raise error_for(hresult, "connect")
            time.sleep(0.05)

    def health(self) -> ReaderHealth:
        """Service reachability, readers and card presence; never raises."""
        try:
            with PcscContext() as context:
                readers = [r for r in context.list_readers() if self._matches(r)]
                states = context.states(readers)
        except PcscUnavailableError:
            return ReaderHealth(False, (), False, PcscUnavailableError.code)
        except CardReaderError as exc:
            return ReaderHealth(True, (), False, exc.code)
        present = any(is_present(s) for s in states.values())
        return ReaderHealth(True, tuple(readers), present, None if readers else NoReaderError.code)
