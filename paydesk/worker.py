"""The background worker: recovery of in-doubt payments, the outbox, end-of-day settlement.

In production run `paydesk worker` (several may share PostgreSQL: jobs are claimed
with SELECT … FOR UPDATE SKIP LOCKED). With SQLite it runs inside the server.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from integrations.webhooks import paused_email_handler, webhook_handler
from integrations.write_back import write_back_handler
from paydesk.runtime import Runtime
from shared import rate_limit
from shared.actors import SYSTEM
from shared.approvals import requests
from shared.db import transaction, utcnow
from shared.finance import deposits, journal
from shared.interactions.replies import SUPPORT_EMAIL, support_email_handler
from shared.local_time import in_zone
from shared.messaging import outbox, write_back
from shared.messaging.webhooks import WEBHOOK, WEBHOOK_PAUSED_EMAIL
from shared.messaging.write_back import WRITE_BACK
from shared.payments import corrections, recovery, settlement
from shared.receipts.email import RECEIPT_EMAIL, receipt_email_handler
from shared.reconciliation import book as reconciliation
from shared.web.sessions import purge_expired

log = logging.getLogger(__name__)

KEEP_TRYING = frozenset({WRITE_BACK})


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.handlers: dict[str, outbox.Handler] = {
            RECEIPT_EMAIL: receipt_email_handler(runtime.settings, runtime.mailer),
            WRITE_BACK: write_back_handler(runtime.settings),
            SUPPORT_EMAIL: support_email_handler(runtime.settings, runtime.mailer),
            WEBHOOK: webhook_handler(runtime.settings),
            WEBHOOK_PAUSED_EMAIL: paused_email_handler(runtime.settings, runtime.mailer),
        }
        # The batch close this worker acts on next (PAYDESK_BATCH_CLOSE); closes missed
        # while no worker ran are left to `paydesk settle`.
        self.next_close = self._close_after(utcnow())
        self.stopping = threading.Event()
        self.passes = 0

    def tick(self) -> dict[str, int]:
        """One pass over every job; returns what each did."""
        rt = self.runtime
        done = {
            "recovered": recovery.recover(
                rt.factory,
                rt.gateway,
                dt.timedelta(seconds=rt.settings.recovery_after_seconds),
            ),
            # A source system that is down for days still gets its news when it is back.
            "sent": outbox.deliver_due(rt.factory, self.handlers, keep_trying=KEEP_TRYING),
            "settled": 0,
            "sessions_purged": 0,
            "journaled": 0,
        }
        if self.passes % 30 == 0:  # about once a minute: what a person must look at
            with transaction(rt.factory) as session:
                done["in_doubt_flagged"] = recovery.flag_long_in_doubt(
                    session, dt.timedelta(minutes=rt.settings.in_doubt_exception_minutes)
                )
                done["write_backs_flagged"] = write_back.flag_failing(
                    session, rt.settings.write_back_exception_attempts, SYSTEM
                )
                done["approvals_expired"] = requests.expire_due(session, SYSTEM)
            # The journal follows within a minute: the trail from a payment to its GL lines.
            with transaction(rt.factory) as session:
                done["journaled"] = len(
                    journal.post_pending(session, journal.Accounts.of(rt.settings), SYSTEM)
                )
            # An approved refund or void the processor did not answer is asked again.
            done["corrections_retried"] = corrections.retry_due(
                rt.factory, rt.gateway, SYSTEM, dt.timedelta(seconds=30)
            )
        if self.passes % 300 == 0:  # about every ten minutes at the default interval
            with transaction(rt.factory) as session:
                done["sessions_purged"] = purge_expired(session, rt.settings)
                rate_limit.purge(session, dt.timedelta(days=1))
            # A deposit the bank never credited is a break once its window has passed, even
            # if no statement is imported that day.
            with transaction(rt.factory) as session:
                today = in_zone(utcnow(), rt.settings.timezone).date()
                done["reconciliation_breaks"] = reconciliation.reconcile(
                    session, rt.settings.reconcile_window_days, today, SYSTEM
                ).breaks_opened
        self.passes += 1
        if utcnow() >= self.next_close:
            with transaction(rt.factory) as session:
                batch = settlement.settle(
                    session,
                    rt.gateway,
                    SYSTEM,
                    until=self.next_close,
                    report_dir=rt.settings.var_dir / "settlements",
                    card_terms=deposits.CardTerms.of(rt.settings),
                )
            done["settled"] = len(batch.lines)
            self.next_close = self._close_after(self.next_close)
        return done

    def _close_after(self, moment: dt.datetime) -> dt.datetime:
        settings = self.runtime.settings
        return settlement.next_batch_close(moment, settings.batch_close, settings.timezone)

    def run(self) -> None:
        log.info("worker started")
        while not self.stopping.is_set():
            try:
                done = self.tick()
                if any(done.values()):
                    log.info("worker pass", extra=done)
            except Exception:
                log.exception("worker pass failed")
            self.stopping.wait(self.runtime.settings.worker_interval_seconds)
        log.info("worker stopped")

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="paydesk-worker", daemon=True)
        thread.start()
        return thread
