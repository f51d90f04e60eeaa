"""One card payment at the kiosk, from "insert your card" to the printed receipt.

A `PaymentRun` is a task the card screen polls. Its steps, each a `RunState`:
wait for a card (cancel works), read it, tokenize it at the processor's card-present
endpoint (the card data exists only in this step's memory and is wiped after it), write
the attempt to the journal, `POST /payments` with the attempt's idempotency key, then
fetch the receipt the server laid out and print it.

When the payment's answer does not arrive (the network dropped with the request in
flight, the server answered 5xx) or the server says it is pending, the run stays
"being confirmed" and asks `payments/by-key` until the server knows: the same key can
never be charged twice, and the resident is told the truth, not "failed".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from enum import StrEnum
from typing import Any

import anyio.to_thread

from kiosk.client import ApiError, ServerUnreachable
from kiosk.devices import (
    CardReadCancelled,
    CardReaderError,
    DeviceHealth,
    read_card_blocking,
    terminal_data,
)
from kiosk.journal import AttemptState, new_key
from kiosk.service import KioskService, payment_outcome
from shared.receipts.layout_json import LayoutFormatError, from_json

logger = logging.getLogger("paydesk.kiosk")


class RunState(StrEnum):
    WAITING_CARD = "waiting_card"
    READING = "reading"
    AUTHORIZING = "authorizing"
    IN_DOUBT = "in_doubt"
    DECLINED = "declined"
    CARD_ERROR = "card_error"
    NOT_CHARGED = "not_charged"  # it never reached the server: try again
    CANCELLED = "cancelled"
    PRINTING = "printing"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    NO_RECEIPT = "no_receipt"  # approved, the receipt is not ready to print


# States where the money's fate is being decided: the session must not be wiped.
BUSY = frozenset({RunState.READING, RunState.AUTHORIZING})
# States whose screen is the receipt screen.
APPROVED_STATES = frozenset(
    {RunState.PRINTING, RunState.PRINTED, RunState.PRINT_FAILED, RunState.NO_RECEIPT}
)


class PaymentRun:
    def __init__(
        self,
        service: KioskService,
        *,
        basket_token: str,
        invoices: list[str],
        amount_minor: int,
        currency: str,
        locale: str,
    ) -> None:
        self.service = service
        self.basket_token = basket_token
        self.invoices = invoices
        self.amount_minor = amount_minor
        self.currency = currency
        self.locale = locale
        self.key = new_key(service.settings.terminal)
        self.state = RunState.WAITING_CARD
        self.message = ""  # the server's or the reader's sentence for the resident
        self.error_code = ""
        self.payment: dict[str, Any] | None = None
        self.receipt: dict[str, Any] | None = None
        self.printer_problem: DeviceHealth | None = None
        self._cancel = threading.Event()
        self._task: asyncio.Task[None] | None = None

    # --- control ------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"payment-{self.key}")

    def cancel(self) -> None:
        """Stop waiting for the card. Past the card read, the payment goes on."""
        self._cancel.set()

    @property
    def busy(self) -> bool:
        return self.state in BUSY

    @property
    def approved(self) -> bool:
        return self.state in APPROVED_STATES

    @property
    def finished(self) -> bool:
        return self.state not in BUSY | {RunState.WAITING_CARD, RunState.IN_DOUBT}

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # --- the steps ----------------------------------------------------------------
    async def _run(self) -> None:
        try:
            card_token = await self._card_token()
            if card_token is None:
                return
            await self._pay(card_token)
            if self.approved:
                await self._print()
        except Exception:  # a screen must never hang on "authorizing"
            logger.exception("payment run %s failed", self.key)
            if self.state in (RunState.WAITING_CARD, RunState.READING):
                self.state = RunState.CARD_ERROR
            elif self.state == RunState.AUTHORIZING:
                self.state = RunState.IN_DOUBT
                await self._resolve()
        finally:
            self.service.owned_keys.discard(self.key)
            self.service.wake()

    def _on_card(self) -> None:
        self.state = RunState.READING

    async def _card_token(self) -> str | None:
        terminal = terminal_data(self.amount_minor, self.currency)
        reader = self.service.devices.reader
        try:
            card = await anyio.to_thread.run_sync(
                read_card_blocking,
                reader,
                terminal,
                self._cancel,
                self._on_card,
                self.service.settings.card_wait_seconds,
            )
        except CardReadCancelled:
            self.state = RunState.CANCELLED
            return None
        except CardReaderError as error:
            self.state = RunState.CARD_ERROR
            self.error_code = error.code
            logger.info("card read failed: %s", error.code)
            return None
        self.state = RunState.AUTHORIZING
        api = self.service.api
        assert api is not None
        try:
            with card:
                # The clear card data lives in this dict for one request, then is dropped.
                answer = await api.card_token(
                    self.service.config["card_present_url"],
                    {
                        "pan": card.reveal_pan(),
                        "exp_month": card.expiry_month,
                        "exp_year": card.expiry_year,
                        "name": card.cardholder_name or "",
                    },
                )
        except ServerUnreachable:
            self.state = RunState.NOT_CHARGED
            self.error_code = "processor_unreachable"
            return None
        except ApiError as error:
            self.state = RunState.CARD_ERROR
            self.error_code = "card_refused"
            self.message = error.message
            return None
        return str(answer["token"])

    async def _pay(self, card_token: str) -> None:
        api = self.service.api
        assert api is not None
        self.service.owned_keys.add(self.key)
        # On disk before the request leaves: a crash from here on is reconciled by key.
        self.service.journal.begin(
            self.key,
            amount_minor=self.amount_minor,
            currency=self.currency,
            invoices=self.invoices,
        )
        try:
            payment = await api.pay(
                self.key,
                basket_token=self.basket_token,
                items=[{"invoice_number": n, "amount_minor": None} for n in self.invoices],
                card_token=card_token,
                locale=self.locale,
            )
        except ServerUnreachable:
            logger.warning("payment %s sent, no answer: being confirmed", self.key)
            self.service.journal.settle(self.key, AttemptState.IN_DOUBT)
            self.state = RunState.IN_DOUBT
            await self._resolve()
            return
        except ApiError as error:
            if error.status >= 500:
                self.service.journal.settle(self.key, AttemptState.IN_DOUBT)
                self.state = RunState.IN_DOUBT
                await self._resolve()
                return
            # Refused before any charge (a held bill, an amount no longer payable).
            self.service.journal.settle(self.key, AttemptState.DECLINED)
            self.state = RunState.DECLINED
            self.error_code = error.code
            self.message = error.message
            return
        self._apply(payment)
        if self.state == RunState.IN_DOUBT:
            await self._resolve()

    def _apply(self, payment: dict[str, Any]) -> None:
        self.payment = payment
        outcome = payment_outcome(payment)
        self.service.journal.settle(
            self.key,
            outcome,
            transaction_id=payment.get("transaction_id"),
            payment_status=payment.get("status"),
            receipt_number=payment.get("receipt_number"),
        )
        self.message = str(payment.get("message") or "")
        if outcome == AttemptState.APPROVED:
            self.state = RunState.PRINTING
        elif outcome == AttemptState.IN_DOUBT:
            self.state = RunState.IN_DOUBT
        else:
            self.state = RunState.DECLINED

    async def _resolve(self) -> None:
        """Ask the server by key until it knows; no second charge is ever sent."""
        api = self.service.api
        assert api is not None
        while True:
            await asyncio.sleep(self.service.settings.poll_seconds)
            try:
                payment = await api.payment_by_key(self.key, self.locale)
            except (ServerUnreachable, ApiError):
                continue
            if payment is None:
                self.service.journal.settle(self.key, AttemptState.NOT_CHARGED)
                self.state = RunState.NOT_CHARGED
                return
            self._apply(payment)
            if self.state != RunState.IN_DOUBT:
                if self.approved:
                    await self._print()
                return

    async def _print(self) -> None:
        api = self.service.api
        assert api is not None and self.payment is not None
        number = self.payment.get("receipt_number")
        if not number:
            self.state = RunState.NO_RECEIPT
            return
        try:
            self.receipt = await api.receipt(str(number), self.locale)
            layout = from_json(self.receipt["layout"])
        except (ServerUnreachable, ApiError, LayoutFormatError, KeyError) as error:
            logger.warning("receipt %s not fetched: %s", number, error)
            self.state = RunState.NO_RECEIPT
            return
        problem = await self.service.devices.print_receipt(layout)
        if problem is None:
            self.state = RunState.PRINTED
            return
        logger.warning("receipt %s not printed: %s", number, problem.state)
        self.printer_problem = problem
        self.state = RunState.PRINT_FAILED
        self.service.wake()  # staff see the printer's state now, not at the next beat
