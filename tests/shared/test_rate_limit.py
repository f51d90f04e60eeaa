from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.rate_limit import Limit, RateLimited, count, hit, key_of, purge, refuse_if_spent

FIVE_PER_15 = Limit(5, dt.timedelta(minutes=15))


def test_the_sixth_attempt_in_the_window_is_refused_with_the_wait(db: Session) -> None:
    now = utcnow()
    for _ in range(5):
        hit(db, "lookup:ip:198.51.100.7", FIVE_PER_15, now)
    with pytest.raises(RateLimited) as limited:
        hit(db, "lookup:ip:198.51.100.7", FIVE_PER_15, now + dt.timedelta(minutes=3))
    assert limited.value.minutes == 12


def test_keys_are_counted_apart(db: Session) -> None:
    now = utcnow()
    for _ in range(5):
        hit(db, "lookup:account:TAX-1", FIVE_PER_15, now)
    hit(db, "lookup:account:TAX-2", FIVE_PER_15, now)


def test_the_window_reopens(db: Session) -> None:
    now = utcnow()
    for _ in range(5):
        hit(db, "k", FIVE_PER_15, now)
    later = now + dt.timedelta(minutes=15, seconds=1)
    for _ in range(5):
        hit(db, "k", FIVE_PER_15, later)
    with pytest.raises(RateLimited):
        hit(db, "k", FIVE_PER_15, later)


def test_purge_forgets_old_windows(db: Session) -> None:
    now = utcnow()
    hit(db, "old", FIVE_PER_15, now - dt.timedelta(days=2))
    hit(db, "new", FIVE_PER_15, now)
    assert purge(db, dt.timedelta(days=1), now) == 1


def test_only_failures_counted_refuse_and_nothing_else_counts(db: Session) -> None:
    now = utcnow()
    keys = [
        ("find:address:198.51.100.7", FIVE_PER_15),
        ("find:everywhere", Limit(7, FIVE_PER_15.window)),
    ]
    for _ in range(50):
        refuse_if_spent(db, keys, now)  # asking costs nothing
    for _ in range(5):
        count(db, keys, now)
    with pytest.raises(RateLimited) as limited:
        refuse_if_spent(db, keys, now + dt.timedelta(minutes=5))
    assert limited.value.minutes == 10
    # The window over, the allowance is back.
    refuse_if_spent(db, keys, now + dt.timedelta(minutes=15, seconds=1))
    # The second key alone, spent by failures counted elsewhere: refused too.
    count(db, [("find:everywhere", Limit(7, FIVE_PER_15.window))] * 2, now)
    with pytest.raises(RateLimited):
        refuse_if_spent(db, [("find:address:203.0.113.1", FIVE_PER_15), keys[1]], now)


def test_keys_keep_what_was_typed_only_as_a_keyed_hash(db: Session) -> None:
    key = key_of(db, "portal:find:number", "ACC-123456", "198.51.100.7")
    assert key.startswith("portal:find:number:")
    assert "ACC-123456" not in key and "198.51.100.7" not in key
    assert key == key_of(db, "portal:find:number", "ACC-123456", "198.51.100.7")
    assert key != key_of(db, "portal:find:number", "ACC-123457", "198.51.100.7")
    assert len(key) <= 200
