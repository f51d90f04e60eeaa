"""PC/SC plumbing shared by the pcsc driver: contexts, error mapping, state waiting.

pyscard's ``CardMonitor``/``ReaderMonitor`` threads die silently when pcscd restarts
or a reader is unplugged mid-wait, so the driver uses the low-level ``smartcard.scard``
API instead and rebuilds the context whenever PC/SC says it is gone.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from smartcard import scard

from .errors import (
    CardReaderError,
    CardRemovedError,
    CardUnreadableError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
    ReaderBusyError,
    WaitCancelledError,
)

__all__ = [
    "PNP_NOTIFICATION",
    "PcscContext",
    "StatusWaiter",
    "error_for",
    "is_present",
]

logger = logging.getLogger(__name__)

# Pseudo-reader that pcsc-lite (and WinSCard) signal when readers are added/removed.
PNP_NOTIFICATION = "\\\\?PnP?\\Notification"

SUCCESS: int = scard.SCARD_S_SUCCESS
# The daemon went away (stopped, restarted, crashed) or our handle died with it.
SERVICE_GONE: frozenset[int] = frozenset(
    {
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_E_INVALID_HANDLE,
        scard.SCARD_F_COMM_ERROR,
        scard.SCARD_F_INTERNAL_ERROR,
    }
)
READER_GONE: frozenset[int] = frozenset(
    {
        scard.SCARD_E_NO_READERS_AVAILABLE,
        scard.SCARD_E_UNKNOWN_READER,
        scard.SCARD_E_READER_UNAVAILABLE,
    }
)
CARD_GONE: frozenset[int] = frozenset(
    {
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_E_NO_SMARTCARD,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_W_RESET_CARD,
    }
)


def describe(hresult: int) -> str:
    """``0x8010001D (Service not available.)`` for logs and error details."""
    try:
        text = str(scard.SCardGetErrorMessage(hresult))
    except Exception:  # pyscard raises on unknown codes on some platforms
        text = "unknown"
    return f"0x{hresult & 0xFFFFFFFF:08X} ({text})"


def error_for(hresult: int, action: str) -> CardReaderError:
    """Typed error for a failed PC/SC call (no card data is ever involved)."""
    detail = f"{action}: {describe(hresult)}"
    if hresult in SERVICE_GONE:
        return PcscUnavailableError(detail=detail)
    if hresult in READER_GONE:
        return NoReaderError(detail=detail)
    if hresult == scard.SCARD_E_SHARING_VIOLATION:
        return ReaderBusyError(detail=detail)
    if hresult == scard.SCARD_E_NO_SMARTCARD:
        return NoCardError(detail=detail)
    if hresult in CARD_GONE:
        return CardRemovedError(detail=detail)
    return CardUnreadableError(detail=detail)


def is_present(state: int) -> bool:
    """A card is in the reader.

    A mute card (inserted upside down, dead chip) counts as present on purpose: the
    kiosk should tell the citizen it is unreadable (the connect fails with
    ``SCARD_W_UNRESPONSIVE_CARD``) rather than keep waiting for a card.
    """
    return bool(state & scard.SCARD_STATE_PRESENT)


class PcscContext:
    """One ``SCARDCONTEXT``; use as a context manager so it is always released."""

    def __init__(self) -> None:
        hresult, handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != SUCCESS:
            raise error_for(int(hresult), "establish context")
        self.handle: Any = handle

    def release(self) -> None:
        """Release the context, ignoring errors (the daemon may already be gone)."""
        with contextlib.suppress(Exception):  # best effort on an already-dead context
            scard.SCardReleaseContext(self.handle)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def list_readers(self) -> list[str]:
        """All reader names; empty when none is connected."""
        hresult, readers = scard.SCardListReaders(self.handle, [])
        if hresult in READER_GONE:
            return []
        if hresult != SUCCESS:
            raise error_for(int(hresult), "list readers")
        return [str(r) for r in readers]

    def states(self, readers: list[str], timeout_ms: int = 0) -> dict[str, int]:
        """Current event state of each reader (``timeout_ms`` 0: no waiting)."""
        if not readers:
            return {}
        query = [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        hresult, results = scard.SCardGetStatusChange(self.handle, timeout_ms, query)
        if hresult != SUCCESS:
            raise error_for(int(hresult), "get status")
        return {str(name): int(state) for name, state, _atr in results}


class StatusWaiter:
    """Self-healing wait on reader/card state changes via ``SCardGetStatusChange``.

    Each loop step (a) makes sure a context exists, re-establishing it after the
    daemon restarted, (b) re-lists readers so hot-plugged ones are watched, and (c)
    blocks in ``SCardGetStatusChange`` for at most ``slice_seconds`` so the cancel
    event and deadline are honoured promptly.
    """

    def __init__(
        self,
        reader_filter: Callable[[str], bool],
        *,
        slice_seconds: float = 0.25,
        retry_seconds: float = 0.5,
    ) -> None:
        self._filter = reader_filter
        self._slice = slice_seconds
        self._retry = retry_seconds
        self._context: PcscContext | None = None
        self._states: dict[str, int] = {}
        self._pnp_state: int = scard.SCARD_STATE_UNAWARE
        self.service_up = False
        self.readers: tuple[str, ...] = ()

    def close(self) -> None:
        """Release the context."""
        self._drop_context()

    def _drop_context(self) -> None:
        if self._context is not None:
            self._context.release()
        self._context = None
        self._states = {}
        self._pnp_state = scard.SCARD_STATE_UNAWARE

    def _pause(self, seconds: float, cancel: threading.Event | None) -> None:
        if cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)

    def _ensure_context(self) -> PcscContext | None:
        if self._context is None:
            try:
                self._context = PcscContext()
            except CardReaderError as exc:
                if self.service_up:
                    logger.warning("pcsc service unreachable: %s", exc.detail)
                self.service_up = False
                return None
            logger.debug("pcsc context established")
        self.service_up = True
        return self._context

    def wait(
        self,
        done: Callable[[Mapping[str, int]], str | None],
        *,
        deadline: float,
        cancel: threading.Event | None,
    ) -> str | None:
        """Return the first non-``None`` ``done(states)``; ``None`` at ``deadline``.

        ``states`` maps each watched reader to its last known event state.  Raises
        :class:`WaitCancelledError` when ``cancel`` is set.
        """
        while True:
            if cancel is not None and cancel.is_set():
                raise WaitCancelledError()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            context = self._ensure_context()
            if context is None:
                self._pause(min(self._retry, remaining), cancel)
                continue
            try:
                result = self._step(context, done, remaining)
            except CardReaderError as exc:
                # Whatever broke (daemon restart, dead handle), a fresh context is the cure.
                logger.warning("pcsc wait failed, re-establishing context: %s", exc.detail)
                self._drop_context()
                self.service_up = False
                self._pause(min(self._retry, max(remaining, 0.0)), cancel)
                continue
            if result is not None:
                return result

    def _step(
        self,
        context: PcscContext,
        done: Callable[[Mapping[str, int]], str | None],
        remaining: float,
    ) -> str | None:
        readers = [r for r in context.list_readers() if self._filter(r)]
        if tuple(readers) != self.readers:
            logger.info("card readers now: %s", readers or "none")
            self.readers = tuple(readers)
        self._states = {r: self._states.get(r, scard.SCARD_STATE_UNAWARE) for r in readers}
        query = [(r, s) for r, s in self._states.items()]
        query.append((PNP_NOTIFICATION, self._pnp_state))
        timeout_ms = max(1, int(min(self._slice, remaining) * 1000))
        hresult, results = scard.SCardGetStatusChange(context.handle, timeout_ms, query)
        hresult = int(hresult)
        if hresult in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return None
        if hresult in READER_GONE:
            # A reader vanished between listing and waiting: re-list next step, after a
            # short pause so a stack that reports this immediately cannot make us spin.
            self._states = {}
            time.sleep(min(self._slice, remaining))
            return None
        if hresult != SUCCESS:
            raise PcscUnavailableError(detail=f"get status change: {describe(hresult)}")
        for name, event, _atr in results:
            state = int(event) & ~scard.SCARD_STATE_CHANGED
            if name == PNP_NOTIFICATION:
                self._pnp_state = state
            elif state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                self._states.pop(str(name), None)
            else:
                self._states[str(name)] = state
        known = {r: s for r, s in self._states.items() if s != scard.SCARD_STATE_UNAWARE}
        return done(known)
