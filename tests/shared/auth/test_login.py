from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.audit import AuditAction
from shared.auth import admin, login, mfa, passwords
from shared.auth.login import LOCK_FOR, MAX_FAILURES, Outcome
from shared.auth.staff_users import create_staff, hasher
from shared.db import utcnow
from shared.models import AuditEvent, StaffUser
from shared.rate_limit import Limit
from tests.conftest import Database


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


def _with_authenticator(db: Session, name: str) -> StaffUser:
    _user(db, name)
    user = db.scalars(select(StaffUser).where(StaffUser.username == name)).one()
    user.mfa_secret = pyotp.random_base32()
    db.flush()
    return user


def _code(user: StaffUser, now: dt.datetime, offset: int = 0) -> str:
    assert user.mfa_secret
    return str(pyotp.TOTP(user.mfa_secret).generate_otp(mfa.current_step(now) + offset))


def test_a_code_is_accepted_once(db: Session) -> None:
    user = _with_authenticator(db, "code.once")
    secret, now = user.mfa_secret or "", utcnow()
    code = _code(user, now)
    assert login.check_code(db, user, secret, code, "10.0.0.1", now).ok
    assert user.mfa_last_step == mfa.current_step(now)
    again = login.check_code(db, user, secret, code, "10.0.0.1", now)
    assert again.outcome is Outcome.INVALID
    # An older code, still inside the drift window, is refused too; a newer one works.
    assert not login.check_code(db, user, secret, _code(user, now, -1), "10.0.0.1", now).ok
    assert login.check_code(db, user, secret, _code(user, now, 1), "10.0.0.1", now).ok
    later = now + dt.timedelta(seconds=60)
    assert login.check_code(db, user, secret, _code(user, later), "10.0.0.1", later).ok
    db.commit()  # audit events are written at commit
    failed = db.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == AuditAction.LOGIN_FAILED, AuditEvent.object_id == "code.once"
        )
    ).all()
    assert failed == [{"reason": "code reused"}, {"reason": "code reused"}]


def test_an_authenticator_reset_forgets_the_last_step(db: Session) -> None:
    user = _with_authenticator(db, "code.reset")
    now = utcnow()
    assert login.check_code(db, user, user.mfa_secret or "", _code(user, now), "10.0.0.1", now).ok
    admin.reset_mfa(db, SYSTEM, user)
    assert user.mfa_secret is None and user.mfa_last_step is None


def test_the_same_code_at_the_same_moment_signs_in_once(fresh_database: Database) -> None:
    factory = fresh_database.sessionmaker()
    with factory() as db:
        user = _with_authenticator(db, "code.race")
        db.commit()
        user_id, secret = user.id, user.mfa_secret or ""
    now = utcnow()
    code = str(pyotp.TOTP(secret).generate_otp(mfa.current_step(now)))

    def attempt(_: int) -> Outcome:
        with factory() as session:
            found = session.get(StaffUser, user_id)
            assert found is not None
            outcome = login.check_code(session, found, secret, code, "10.0.0.2", now).outcome
            session.commit()
            return outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count(Outcome.OK) == 1
    assert outcomes.count(Outcome.INVALID) + outcomes.count(Outcome.LOCKED) == 7


def _failures(db: Session, name: str, minutes: list[int], start: dt.datetime) -> list[object]:
    """Wrong passwords for `name` at these minutes after `start`: outcome and lock end each."""
    answers: list[object] = []
    for minute in minutes:
        attempt = login.check_password(
            db, name, "wrong", "10.0.0.7", start + dt.timedelta(minutes=minute)
        )
        until = attempt.until - start if attempt.until else None
        answers.append((attempt.outcome, until))
    return answers


@pytest.mark.parametrize(
    "minutes",
    [
        [0, 0, 0, 0, 16],  # four, then a fifth after the window: not locked
        [0, 3, 6, 9, 12, 20, 28],  # locked at 12 until 27; asked during it; counted anew after
        [0, 1, 2, 3, 4, 19, 19, 19, 19, 20],  # locked, and locked again after the first ended
    ],
)
def test_a_real_and_an_unknown_username_answer_alike(db: Session, minutes: list[int]) -> None:
    _user(db, "real.name")
    start = utcnow()
    assert _failures(db, "real.name", minutes, start) == _failures(
        db, "no.such.name", minutes, start
    )


def test_failures_count_within_a_window_and_lock_from_the_fifth(db: Session) -> None:
    _user(db)
    start = utcnow()
    answers = _failures(db, "lock.me", [0, 3, 6, 9, 12, 20, 28], start)
    locked = (Outcome.LOCKED, dt.timedelta(minutes=12) + LOCK_FOR)
    assert answers == [(Outcome.INVALID, None)] * 4 + [locked, locked, (Outcome.INVALID, None)]
    assert (
        _failures(db, "lock.me", [0, 0, 0, 0, 16], start + dt.timedelta(hours=1))
        == [(Outcome.INVALID, None)] * 5
    )


def test_an_admin_unlock_forgets_the_failures(db: Session) -> None:
    _user(db)
    now = utcnow()
    assert _failures(db, "lock.me", [0] * MAX_FAILURES, now)[-1] == (Outcome.LOCKED, LOCK_FOR)
    user = db.scalars(select(StaffUser).where(StaffUser.username == "lock.me")).one()
    admin.unlock(db, SYSTEM, user)
    # Counted again from nothing: four more wrong answers, and the fifth locks.
    assert _failures(db, "lock.me", [1] * MAX_FAILURES, now) == [(Outcome.INVALID, None)] * (
        MAX_FAILURES - 1
    ) + [(Outcome.LOCKED, dt.timedelta(minutes=1) + LOCK_FOR)]


def test_single_sign_on_leaves_a_password_lock_in_place(db: Session) -> None:
    _user(db)
    now = utcnow()
    _failures(db, "lock.me", [0] * MAX_FAILURES, now)
    user = db.scalars(select(StaffUser).where(StaffUser.username == "lock.me")).one()
    login.record_login(db, user, "10.0.0.8", ["sso"])
    assert user.locked_until == now + LOCK_FOR
    assert _failures(db, "lock.me", [1], now) == [(Outcome.LOCKED, LOCK_FOR)]
    db.commit()  # audit events are written at commit
    signed_in = db.scalars(
        select(AuditEvent.details).where(AuditEvent.action == AuditAction.LOGIN_SUCCEEDED)
    ).one()
    assert signed_in == {"factors": ["sso"], "password_locked_until": (now + LOCK_FOR).isoformat()}


def test_a_lock_holds_only_for_the_address_that_failed(db: Session) -> None:
    _user(db, "own.desk")
    now = utcnow()
    answers = [login.check_password(db, "own.desk", "wrong", "203.0.113.5", now) for _ in range(5)]
    assert answers[-1].outcome is Outcome.LOCKED
    from_there = login.check_password(db, "own.desk", "right-password", "203.0.113.5", now)
    assert from_there.outcome is Outcome.LOCKED
    assert login.check_password(db, "own.desk", "right-password", "10.0.0.30", now).ok


def _spray(db: Session, name: str, failures: int, now: dt.datetime) -> None:
    """Wrong passwords for `name`, each from an address of its own."""
    for n in range(failures):
        login.check_password(db, name, f"guess-{n}", f"198.51.100.{n}", now)


def test_failures_from_many_addresses_slow_the_name_down_without_locking_it(db: Session) -> None:
    _user(db, "slow.me")
    now = utcnow()
    _spray(db, "slow.me", login.SLOW_AFTER.attempts, now)
    # Slowed: one password check per step for the name, whoever asks.
    first = login.check_password(db, "slow.me", "right-password", "10.0.0.31", now)
    assert first.ok
    second = login.check_password(db, "slow.me", "right-password", "10.0.0.32", now)
    assert second.outcome is Outcome.SLOWED and second.slowed
    assert second.until == now + login.SLOW_STEP
    # Unchecked: a wrong password in the same step gets the same answer.
    wrong = login.check_password(db, "slow.me", "wrong", "10.0.0.32", now)
    assert (wrong.outcome, wrong.until) == (Outcome.SLOWED, now + login.SLOW_STEP)
    later = now + login.SLOW_STEP + dt.timedelta(seconds=1)
    assert login.check_password(db, "slow.me", "right-password", "10.0.0.32", later).ok


def test_a_right_password_with_a_valid_code_is_never_refused_for_others_failures(
    db: Session,
) -> None:
    user = _with_authenticator(db, "both.factors")
    now = utcnow()
    _spray(db, "both.factors", login.SLOW_AFTER.attempts + 5, now)
    assert login.check_password(db, "both.factors", "x", "10.0.0.40", now).outcome in {
        Outcome.INVALID,
        Outcome.SLOWED,
    }
    password_only = login.check_password(db, "both.factors", "right-password", "10.0.0.41", now)
    assert password_only.outcome is Outcome.SLOWED
    both = login.check_password(
        db, "both.factors", "right-password", "10.0.0.41", now, code=_code(user, now)
    )
    assert both.ok and both.factors == ("password", "totp")
    # Either factor wrong: one answer, so the code does not tell whether the password was.
    wrong_password = login.check_password(
        db, "both.factors", "wrong", "10.0.0.42", now, code=_code(user, now, 1)
    )
    wrong_code = login.check_password(
        db, "both.factors", "right-password", "10.0.0.43", now, code="000000"
    )
    assert (wrong_password.outcome, wrong_password.slowed) == (Outcome.INVALID, True)
    assert (wrong_code.outcome, wrong_code.slowed) == (Outcome.INVALID, True)


def test_a_ceiling_over_every_name_slows_them_all(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login, "FAILURES_EVERYWHERE", Limit(4, dt.timedelta(minutes=15)))
    _user(db, "quiet.name")
    now = utcnow()
    for n in range(4):
        login.check_password(db, f"sprayed-{n}", "wrong", f"192.0.2.{n}", now)
    assert login.check_password(db, "quiet.name", "right-password", "10.0.0.50", now).ok
    slowed = login.check_password(db, "quiet.name", "right-password", "10.0.0.51", now)
    assert slowed.outcome is Outcome.SLOWED
