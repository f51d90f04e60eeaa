from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.auth import login, passwords
from shared.auth.login import LOCK_FOR, MAX_FAILURES, Outcome
from shared.db import utcnow
from shared.models import StaffUser
from shared.rate_limit import Limit
from shared.staff_accounts import create_staff, hasher


def _user(db: Session, name: str = "lock.me") -> None:
    create_staff(db, SYSTEM, username=name, password="right-password", display_name="L", roles=[])


def test_the_lock_expires(db: Session) -> None:
    _user(db)
    now = utcnow()
    outcomes = [
        login.check_password(db, "lock.me", "wrong", "10.0.0.1", now).outcome
        for _ in range(MAX_FAILURES)
    ]
    assert outcomes[-1] is Outcome.LOCKED
    during = login.check_password(db, "lock.me", "right-password", "10.0.0.1", now)
    assert during.outcome is Outcome.LOCKED and during.until == now + LOCK_FOR
    after = now + LOCK_FOR + dt.timedelta(seconds=1)
    assert login.check_password(db, "lock.me", "right-password", "10.0.0.1", after).ok


def test_one_address_failing_too_often_is_throttled(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login, "FAILURES_PER_ADDRESS", Limit(3, dt.timedelta(minutes=15)))
    now = utcnow()
    for i in range(login.FAILURES_PER_ADDRESS.attempts + 1):
        login.check_password(db, f"nobody-{i}", "wrong", "10.9.9.9", now)
    _user(db, "real.one")
    attempt = login.check_password(db, "real.one", "right-password", "10.9.9.9", now)
    assert attempt.outcome is Outcome.THROTTLED
    assert login.check_password(db, "real.one", "right-password", "10.9.9.8", now).ok


def test_stale_hashes_are_upgraded(db: Session) -> None:
    _user(db, "old.hash")
    user = db.scalars(select(StaffUser).where(StaffUser.username == "old.hash")).one()
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash("right-password")
    assert passwords.verify(user, "right-password")
    assert user.password_hash is not None and not hasher.check_needs_rehash(user.password_hash)
    assert not passwords.verify(None, "right-password")
