"""Fixed-window rate limits kept in the database, so every server process shares them.

Used for citizen look-ups (account enumeration) and anything else a stranger can
hammer. Counting happens in the caller's transaction with an upsert, so two
processes never lose a count.

Two ways to use a limit: `hit` counts every attempt and refuses past the allowance (an
email sent); `refuse_if_spent` before an attempt and `count` after a failed one limit
only failures, so people who get it right (a library's shared computer, a family
paying several bills) are never refused for each other's successes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.db import keys_of, utcnow
from shared.models.rate_limit import RateLimitWindow


@dataclass(frozen=True, slots=True)
class Limit:
    attempts: int
    window: dt.timedelta


class RateLimited(Exception):
    """Too many attempts; `retry_after` says how long until the window reopens."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        super().__init__(f"rate limited for {retry_after}")
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds() / 60))


def key_of(session: Session, family: str, *values: str) -> str:
    """A window's key: its family in clear, each of what people typed (names, numbers,
    addresses) as an HMAC with a key the database does not hold, so the table neither
    lists what was tried nor lets anyone test guesses against it."""
    key = keys_of(session).lookup
    hashed = (hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32] for value in values)
    return ":".join([family, *hashed])


def hit(session: Session, key: str, limit: Limit, now: dt.datetime | None = None) -> None:
    """Count one attempt for `key`; raise RateLimited once the window's allowance is used."""
    now = now or utcnow()
    window_start, used = _count(session, key, limit, now)
    if used > limit.attempts:
        raise RateLimited(window_start + limit.window - now)


def count(
    session: Session, keys: Iterable[tuple[str, Limit]], now: dt.datetime | None = None
) -> None:
    """Count one (failed) attempt against each key, refusing nothing now: the next
    `refuse_if_spent` does."""
    now = now or utcnow()
    for key, limit in keys:
        _count(session, key, limit, now)


def refuse_if_spent(
    session: Session, keys: Iterable[tuple[str, Limit]], now: dt.datetime | None = None
) -> None:
    """Raise RateLimited, counting nothing, if any key's window has used its allowance."""
    now = now or utcnow()
    for key, limit in keys:
        row = session.execute(
            select(RateLimitWindow.window_start, RateLimitWindow.count).where(
                RateLimitWindow.key == key
            )
        ).first()
        if row is None:
            continue
        window_start, used = row
        if used >= limit.attempts and window_start > now - limit.window:
            raise RateLimited(window_start + limit.window - now)


def _count(session: Session, key: str, limit: Limit, now: dt.datetime) -> tuple[dt.datetime, int]:
    expired = RateLimitWindow.window_start <= now - limit.window
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(RateLimitWindow)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                # A stale window starts again from this attempt.
                "window_start": case((expired, now), else_=RateLimitWindow.window_start),
                "count": case((expired, 1), else_=RateLimitWindow.count + 1),
            },
        )
        .returning(RateLimitWindow.window_start, RateLimitWindow.count)
    )
    window_start, used = session.execute(statement).one()
    return window_start, int(used)


def purge(session: Session, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Forget windows that closed long ago (the worker calls this now and then)."""
    cutoff = (now or utcnow()) - older_than
    result = session.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
