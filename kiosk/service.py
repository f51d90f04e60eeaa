"""The kiosk's running state: in service or not, the journal's recovery, the heartbeat.

One `KioskService` per process. A loop checks, every `poll_seconds`, that the server
answers, that the reader is there, and that the journal owes no answer; it resolves open
attempts with `payments/by-key` and sends the heartbeat every `heartbeat_seconds`. The
kiosk takes a new customer only when all of these hold: enrolled, configured by the
server, the server reachable, a card reader present, staff have not taken the terminal
out of service, and the journal left by the last run has been reconciled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kiosk.client import ApiError, KioskApi, NotEnrolled, ServerUnreachable
from kiosk.devices import DeviceHealth, Devices
from kiosk.journal import AttemptState, Journal
from kiosk.sessions import SessionStore
from kiosk.settings import KioskSettings

logger = logging.getLogger("paydesk.kiosk")


@dataclass(slots=True)
class ServiceState:
    enrolled: bool = False
    config: dict[str, Any] | None = None
    server_ok: bool = False
    staff_in_service: bool = True
    reader: DeviceHealth = field(default_factory=lambda: DeviceHealth("no_reader"))
    printer: DeviceHealth = field(default_factory=lambda: DeviceHealth("ok"))
    # The journal the last run left behind is reconciled before the first customer.
    reconciled: bool = False

    def out_of_service_reason(self) -> str | None:
        if not self.enrolled:
            return "not_enrolled"
        if not self.server_ok or self.config is None:
            return "server_unreachable"
        if not self.reconciled:
            return "journal_pending"
        if self.reader.state != "ok":
            return f"reader_{self.reader.state}"
        if not self.staff_in_service:
            return "taken_out_by_staff"
        return None


def payment_outcome(payment: dict[str, Any]) -> AttemptState:
    """The journal state of a payment the server described."""
    if payment.get("approved"):
        return AttemptState.APPROVED
    if payment.get("in_doubt"):
        return AttemptState.IN_DOUBT
    return AttemptState.DECLINED


class KioskService:
    def __init__(self, settings: KioskSettings, devices: Devices) -> None:
        self.settings = settings
        self.devices = devices
        self.journal = Journal(settings.journal_path)
        self.sessions = SessionStore(settings.session_lifetime)
        self.state = ServiceState()
        self.api: KioskApi | None = None
        # Attempts a live screen is resolving itself; the loop leaves them alone.
        self.owned_keys: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_heartbeat = 0.0
        self._wake = asyncio.Event()

    # --- life ---------------------------------------------------------------------
    async def start(self) -> None:
        self.api = KioskApi(
            self.settings.server_url, self.settings.terminal, self.settings.credentials_path
        )
        self._wake = asyncio.Event()
        try:
            await self.check()
        except Exception:  # out of service until a later check succeeds, never a crash
            logger.exception("kiosk check failed")
        self._task = asyncio.create_task(self._loop(), name="kiosk-service")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sessions.wipe_all()
        if self.api is not None:
            await self.api.aclose()
        self.devices.close()
        self.journal.close()

    @property
    def in_service(self) -> bool:
        return self.state.out_of_service_reason() is None

    @property
    def config(self) -> dict[str, Any]:
        assert self.state.config is not None
        return self.state.config

    def wake(self) -> None:
        """Check and send a heartbeat now (after a print failed, a payment ended)."""
        self._last_heartbeat = 0.0
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
            self._wake.clear()
            try:
                await self.check()
            except Exception:  # the loop must outlive any one bad check
                logger.exception("kiosk check failed")

    async def check(self) -> None:
        """One round: enrolment, server config, journal, devices, heartbeat, idle sessions."""
        assert self.api is not None
        self.sessions.reap()
        self.state.reader = await self.devices.reader_health()
        try:
            await self._check_server()
        except ServerUnreachable:
            if self.state.server_ok:
                logger.warning("server unreachable: out of service")
            self.state.server_ok = False
        except NotEnrolled:
            self.state.enrolled = False
        except ApiError as error:
            logger.warning("server refused the kiosk: %s", error)
            self.state.server_ok = False

    async def _check_server(self) -> None:
        assert self.api is not None
        if self.api.credentials is None:
            if not self.settings.enrolment_code:
                raise NotEnrolled()
            await self.api.enrol(self.settings.enrolment_code)
            logger.info("enrolled as %s", self.settings.terminal)
        self.state.enrolled = True
        await self.api.reachable()
        if self.state.config is None or not self.state.server_ok:
            self.state.config = await self.api.config()
        self.state.server_ok = True
        await self.reconcile()
        heartbeat_every = float(self.config.get("heartbeat_seconds", 30))
        if time.monotonic() - self._last_heartbeat >= heartbeat_every:
            await self.heartbeat()

    async def reconcile(self) -> None:
        """Resolve the journal's open attempts that no screen is resolving."""
        assert self.api is not None
        for attempt in self.journal.open_attempts():
            if attempt.idempotency_key in self.owned_keys:
                continue
            payment = await self.api.payment_by_key(attempt.idempotency_key)
            if payment is None:
                # The server never wrote it, so it never asked the processor: no charge.
                self.journal.settle(attempt.idempotency_key, AttemptState.NOT_CHARGED)
                logger.info("journal: %s was never charged", attempt.idempotency_key)
                continue
            outcome = payment_outcome(payment)
            self.journal.settle(
                attempt.idempotency_key,
                outcome,
                transaction_id=payment.get("transaction_id"),
                payment_status=payment.get("status"),
                receipt_number=payment.get("receipt_number"),
            )
            logger.info(
                "journal: %s is %s (%s)",
                attempt.idempotency_key,
                outcome.value,
                payment.get("transaction_id"),
            )
        # In doubt at the server is reconciled for the kiosk: the server holds the bills,
        # so no second payment can take them while its own recovery resolves it.
        self.state.reconciled = all(
            a.state != AttemptState.SENDING or a.idempotency_key in self.owned_keys
            for a in self.journal.open_attempts()
        )

    async def heartbeat(self) -> None:
        assert self.api is not None
        self.state.printer = await self.devices.printer_health()
        problem = self.devices.printer_problem
        printer = problem if problem is not None else self.state.printer
        open_attempts = self.journal.open_attempts()
        answer = await self.api.heartbeat(
            {
                "app_version": self.settings.app_version,
                "in_service": self.state.out_of_service_reason() in (None, "taken_out_by_staff"),
                "reader": self.state.reader.as_json(),
                "printer": printer.as_json(),
                "journal_pending": len(open_attempts),
                "last_payment": self.journal.last_transaction(),
            }
        )
        self.state.staff_in_service = bool(answer.get("in_service", True))
        self._last_heartbeat = time.monotonic()
