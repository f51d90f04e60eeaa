"""The kiosk's local journal (SQLite): every payment attempt, written before it is sent.

A kiosk loses its network or its power at the worst moment. The journal is how it knows,
afterwards, what it may have asked the server to charge: an attempt row with its
idempotency key is committed *before* `POST /payments`, so a crash or a lost answer leaves
a row the kiosk resolves with `payments/by-key/{key}` (the server answers 404 only when it
never wrote a payment, and it writes before it charges) before it takes a new customer.

It holds no card data and nothing that identifies the resident: the key, the bills'
numbers, the amount, the state and the server's answer (transaction id, status, receipt
number). When by-key says the server never wrote the payment, nothing was charged and
the attempt ends as not charged: the kiosk does not send it again on its own (the
resident has gone; the card token was single-use).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class AttemptState(StrEnum):
    """Where an attempt is. `SENDING` and `IN_DOUBT` are open: the kiosk owes an answer."""

    SENDING = "sending"  # written, POST not answered yet (a crash leaves this)
    IN_DOUBT = "in_doubt"  # no answer (network) or the server says pending/unknown
    APPROVED = "approved"
    DECLINED = "declined"  # declined, failed or refused: nothing charged
    NOT_CHARGED = "not_charged"  # the server never wrote it (by-key said 404)


OPEN_STATES = (AttemptState.SENDING, AttemptState.IN_DOUBT)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    idempotency_key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    invoices TEXT NOT NULL,
    transaction_id TEXT,
    payment_status TEXT,
    receipt_number TEXT
);
"""


@dataclass(frozen=True, slots=True)
class Attempt:
    idempotency_key: str
    created_at: str
    updated_at: str
    state: AttemptState
    amount_minor: int
    currency: str
    invoices: tuple[str, ...]
    transaction_id: str | None
    payment_status: str | None
    receipt_number: str | None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


def new_key(terminal: str) -> str:
    """An idempotency key naming the terminal, unique without coordination."""
    return f"kiosk-{terminal}-{uuid.uuid4().hex}"[:100]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Journal:
    """The attempts table of one kiosk, safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # autocommit: each statement is durable when it returns (synchronous=FULL).
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def begin(
        self,
        key: str,
        *,
        amount_minor: int,
        currency: str,
        invoices: list[str],
    ) -> Attempt:
        """Record an attempt before it is sent; returns it once it is on disk."""
        now = _now()
        with self._lock:
            self._db.execute(
                "INSERT INTO attempts (idempotency_key, created_at, updated_at, state,"
                " amount_minor, currency, invoices) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    now,
                    now,
                    AttemptState.SENDING.value,
                    amount_minor,
                    currency,
                    json.dumps(invoices),
                ),
            )
        found = self.get(key)
        assert found is not None
        return found

    def settle(
        self,
        key: str,
        state: AttemptState,
        *,
        transaction_id: str | None = None,
        payment_status: str | None = None,
        receipt_number: str | None = None,
    ) -> None:
        """Move an attempt on, keeping what the server said about it."""
        with self._lock:
            self._db.execute(
                "UPDATE attempts SET state = ?, updated_at = ?,"
                " transaction_id = COALESCE(?, transaction_id),"
                " payment_status = COALESCE(?, payment_status),"
                " receipt_number = COALESCE(?, receipt_number)"
                " WHERE idempotency_key = ?",
                (
                    state.value,
                    _now(),
                    transaction_id,
                    payment_status,
                    receipt_number,
                    key,
                ),
            )

    def get(self, key: str) -> Attempt | None:
        with self._lock:
            row = self._db.execute(_SELECT + " WHERE idempotency_key = ?", (key,)).fetchone()
        return _attempt(row) if row else None

    def open_attempts(self) -> list[Attempt]:
        """Attempts the kiosk still owes an answer for, oldest first."""
        with self._lock:
            rows = self._db.execute(
                _SELECT + " WHERE state IN (?, ?) ORDER BY created_at",
                tuple(s.value for s in OPEN_STATES),
            ).fetchall()
        return [_attempt(row) for row in rows]

    def last_transaction(self) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT transaction_id FROM attempts WHERE transaction_id IS NOT NULL"
                " ORDER BY updated_at DESC LIMIT 1"
            ).fetchone()
        return str(row[0]) if row else None


_SELECT = (
    "SELECT idempotency_key, created_at, updated_at, state, amount_minor, currency, invoices,"
    " transaction_id, payment_status, receipt_number FROM attempts"
)


def _attempt(row: tuple[Any, ...]) -> Attempt:
    return Attempt(
        idempotency_key=row[0],
        created_at=row[1],
        updated_at=row[2],
        state=AttemptState(row[3]),
        amount_minor=row[4],
        currency=row[5],
        invoices=tuple(json.loads(row[6])),
        transaction_id=row[7],
        payment_status=row[8],
        receipt_number=row[9],
    )
