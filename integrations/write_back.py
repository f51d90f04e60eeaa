"""Sending write-backs: a signed JSON POST to the source system that holds the account.

The request (one per account a payment touched; the body was written when the payment
posted, so every retry sends the same bytes):

    POST <the system's URL from PAYDESK_WRITE_BACK_URLS>
    Content-Type: application/json
    Idempotency-Key: <transaction ID>:<account number>   the body's "id"
    Paydesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

    {"event": "payment.posted", "id": ..., "transaction_id": ..., "receipt_number": ...,
     "posted_at": ..., "channel": ..., "tender": ..., "currency": ..., "account_number": ...,
     "amount": ..., "lines": [{"invoice_number": ..., "fee_type": ..., "amount": ...,
                               "owing_after": ...}]}

Amounts are integers in minor units; `owing_after` is what the bill owed in Paydesk once
this payment was applied. A 2xx answer confirms the write-back; anything else, or no
answer, raises and the outbox tries again later (it never gives up on a write-back: the
flag on the customer view stays until the system takes it).
"""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import SYSTEM
from shared.config import Settings
from shared.db import utcnow
from shared.messaging import outbox
from shared.messaging.signing import SIGNATURE_HEADER, signature
from shared.models import OutboxMessage, WriteBack, WriteBackStatus

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# A system that did not answer is not asked again for this long: one worker pass waits
# for its timeout once, not once per message queued for it (their next tries are backed
# off anyway). Short, so a system that was only starting up is asked again soon.
RESTING_SECONDS = 5.0


class WriteBackRefused(RuntimeError):
    """The source system answered, but not with a 2xx."""


class SourceSystemDown(RuntimeError):
    """The source system did not answer (or answered 5xx) a moment ago: not asked again yet."""


def write_back_handler(settings: Settings) -> outbox.Handler:
    """The outbox handler for `write_back` messages."""
    # System -> (when it last failed to answer, what went wrong), monotonic seconds.
    down: dict[str, tuple[float, str]] = {}

    def handle(session: Session, message: OutboxMessage) -> None:
        correction_id = message.payload.get("correction_id")
        wb = session.scalars(
            select(WriteBack).where(
                WriteBack.payment_id == message.payload["payment_id"],
                WriteBack.account_id == message.payload["account_id"],
                WriteBack.correction_id.is_(None)
                if correction_id is None
                else WriteBack.correction_id == correction_id,
            )
        ).one()
        if wb.status is WriteBackStatus.CONFIRMED:
            return
        system = wb.source_system
        target = settings.write_back_target(system)
        if target is None:
            raise LookupError(
                f"no write-back address for source system {system!r} (PAYDESK_WRITE_BACK_URLS)"
            )
        if (failed := down.get(system)) and time.monotonic() - failed[0] < RESTING_SECONDS:
            raise SourceSystemDown(f"not tried: {system} did not answer just before ({failed[1]})")
        news = message.payload["body"]
        body = json.dumps(news, separators=(",", ":")).encode()
        try:
            answer = httpx.post(
                target.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": news["id"],
                    SIGNATURE_HEADER: signature(target.secret, body, int(time.time())),
                },
                timeout=TIMEOUT,
            )
        except httpx.TransportError as exc:
            down[system] = (time.monotonic(), f"{type(exc).__name__}: {exc}")
            raise
        if answer.is_server_error:
            down[system] = (time.monotonic(), f"HTTP {answer.status_code}")
        if not answer.is_success:
            raise WriteBackRefused(f"{system} answered HTTP {answer.status_code}")
        down.pop(system, None)
        wb.status = WriteBackStatus.CONFIRMED
        wb.confirmed_at = utcnow()
        audit.record(
            session,
            SYSTEM,
            audit.AuditAction.WRITE_BACK_CONFIRMED,
            "payment",
            news["transaction_id"],
            {
                "source_system": system,
                "account_number": news["account_number"],
                "amount": wb.amount,
                "http_status": answer.status_code,
            },
        )

    return handle
