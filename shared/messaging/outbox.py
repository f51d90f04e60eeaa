"""The transactional outbox: messages written with the change they report, sent by the worker.

A message is delivered at least once; a destination that is down delays it
(with backoff) but never loses it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from shared.db import attach, row_of, transaction, utcnow
from shared.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
Handler = Callable[[Session, OutboxMessage], None]

MESSAGES = cast(Table, OutboxMessage.__table__)
_INSERT = insert(MESSAGES).returning(MESSAGES.c.id)


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], not_before: dt.datetime | None = None
) -> OutboxMessage:
    """Write a message in the caller's transaction (a Core insert: this is on the payment path),
    to be sent at once or not before `not_before`."""
    message = OutboxMessage(kind=kind, payload=payload, next_attempt_at=not_before)
    message.id = session.connection().execute(_INSERT, row_of(message)).scalar_one()
    attach(session, message)
    return message


def backoff(attempts: int) -> dt.timedelta:
    """5 s, 10 s, 20 s ... capped at one hour."""
    return dt.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


def deliver_due(
    factory: sessionmaker[Session],
    handlers: dict[str, Handler],
    limit: int = 50,
    keep_trying: frozenset[str] = frozenset(),
) -> int:
    """Send what is due, one message per transaction. Returns how many were sent.

    A message is given up (dead) after MAX_ATTEMPTS, except the kinds in `keep_trying`:
    those go on at the longest backoff until their destination takes them.
    """
    sent = 0
    with transaction(factory) as session:
        ids = session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= utcnow(),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    for message_id in ids:
        with transaction(factory) as session:
            # SKIP LOCKED lets several workers share the queue on PostgreSQL.
            message = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if message is None:
                continue
            handler = handlers.get(message.kind)
            message.attempts += 1
            try:
                if handler is None:
                    raise LookupError(f"no handler for outbox kind {message.kind!r}")
                with session.begin_nested():
                    handler(session, message)
            except Exception as exc:
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if message.attempts >= MAX_ATTEMPTS and message.kind not in keep_trying:
                    message.status = OutboxStatus.DEAD
                else:
                    message.next_attempt_at = utcnow() + backoff(message.attempts)
                log.warning(
                    "outbox delivery failed",
                    extra={
                        "outbox_id": message.id,
                        "kind": message.kind,
                        "error": message.last_error,
                    },
                )
            else:
                message.status = OutboxStatus.SENT
                message.sent_at = utcnow()
                message.last_error = None
                sent += 1
    return sent
