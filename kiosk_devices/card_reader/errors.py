"""Typed card-reader errors.

Every failure the kiosk can meet while talking to a card reader is one subclass of
:class:`CardReaderError`.  Each carries a stable machine ``code`` (for metrics, logs and
the kiosk's screen choice) and a plain-English ``message`` that is safe to show to a
citizen.  Messages never contain card data: callers must not pass APDU payloads here.
"""

from __future__ import annotations

from typing import ClassVar


class CardReaderError(Exception):
    """Base class of all card-reader failures.

    ``code`` is stable across releases (the kiosk maps it to a screen); ``message`` is
    plain English suitable for display; ``detail`` is an optional technical hint for
    logs (status words, PC/SC return codes) and never contains card data.
    """

    code: ClassVar[str] = "card_reader_error"
    default_message: ClassVar[str] = "The card reader is not working. Please ask for help."

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.detail:
            return f"[{self.code}] {self.message} ({self.detail})"
        return f"[{self.code}] {self.message}"


class NoReaderError(CardReaderError):
    """No card reader is connected (or the configured one is gone)."""

    code = "no_reader"
    default_message = "No card reader is connected. Please ask for help."


class ReaderBusyError(CardReaderError):
    """Another process holds the reader exclusively (PC/SC sharing violation)."""

    code = "reader_busy"
    default_message = "The card reader is busy. Please wait a moment and try again."


class NoCardError(CardReaderError):
    """No card was inserted before the timeout, or none is present when reading."""

    code = "no_card"
    default_message = "No card was detected. Please insert your card."


class WaitCancelledError(CardReaderError):
    """The caller set the cancel event while we were waiting for or reading a card."""

    code = "cancelled"
    default_message = "Card reading was cancelled."


class CardNotAnsweringError(CardReaderError):
    """The read did not finish within its deadline: the card stopped answering mid-command."""

    code = "card_not_answering"
    default_message = "The card stopped answering. Please remove it and try again."


class CardRemovedError(CardReaderError):
    """The card was pulled out (or lost power) while it was being read."""

    code = "card_removed"
    default_message = "The card was removed too early. Please insert it again and wait."


class NotPaymentCardError(CardReaderError):
    """The card answers but carries no EMV payment application we know."""

    code = "not_payment_card"
    default_message = "This card is not a payment card. Please use a debit or credit card."


class CardBlockedError(CardReaderError):
    """The card or its payment application is blocked (SW 6283 on SELECT, or 6A81)."""

    code = "card_blocked"
    default_message = "This card is blocked. Please use another card or contact your bank."


class CardUnreadableError(CardReaderError):
    """The card answered something we cannot use (bad TLV, unexpected status word)."""

    code = "card_unreadable"
    default_message = "The card could not be read. Please try again or use another card."


class PcscUnavailableError(CardReaderError):
    """The PC/SC service (pcscd) is not running or not reachable."""

    code = "pcsc_unavailable"
    default_message = "The card reader service is not available. Please ask for help."


class CardDataWipedError(CardReaderError):
    """Sensitive card data was accessed after :meth:`CardData.wipe`."""

    code = "card_data_wiped"
    default_message = "The card data is no longer available. Please insert your card again."
