"""Signing staff in: password and TOTP checks, throttling, lockout, and their audit trail.

Failures are counted so that nobody can shut anyone else out:

- per name *and* address: five wrong answers (password or code) within fifteen minutes
  lock that name from that address for fifteen minutes; an administrator can unlock it
  sooner. Other addresses are not locked: the person at their own desk still signs in.
- per name over every address: past ten failures within fifteen minutes the name is
  slowed, not locked. A password alone is checked at most once per thirty seconds for
  that name (an attempt in between is turned away unchecked); a password given with a
  valid code from the person's authenticator is always checked, so failures from other
  addresses never keep out someone who has the password *and* the code. With both asked
  for at once, the answer never says which of the two was wrong.
- per address over every name: 100 failures within fifteen minutes, and that address is
  refused for the rest of the window (against spraying many names from one place).
- over everything: past 1,000 failures within fifteen minutes every name is slowed (the
  sign-in form's ceiling against guessing from many addresses at once).

Failures are counted the same way whether anyone has that name or not, so an unknown
username gets the same answers, lock times and timing as a real one: the form tells
nobody who works here. Names and addresses are kept hashed in the counts.
A TOTP code is good once: a code already used, or one older than it, is a wrong answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.audit import AuditAction
from shared.auth import mfa, passwords
from shared.db import utcnow
from shared.models import RateLimitWindow, StaffUser, WebSession
from shared.rate_limit import Limit, RateLimited, count, hit, key_of

MAX_FAILURES = 5
# Also how long failures count toward a lock, from the first of them. One length for
# both keeps the count simple: once a lock is over, so is the window it was counted in.
LOCK_FOR = dt.timedelta(minutes=15)
SLOW_AFTER = Limit(10, dt.timedelta(minutes=15))
SLOW_STEP = dt.timedelta(seconds=30)
FAILURES_PER_ADDRESS = Limit(100, dt.timedelta(minutes=15))
FAILURES_EVERYWHERE = Limit(1000, dt.timedelta(minutes=15))
_EVERYWHERE = "staff:login:everywhere"


class Outcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"
    INACTIVE = "inactive"
    THROTTLED = "throttled"
    # The name is slowed and its password was checked less than SLOW_STEP ago.
    SLOWED = "slowed"


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    user: StaffUser | None = None
    # For LOCKED, THROTTLED and SLOWED: when trying again can work.
    until: dt.datetime | None = None
    # The name is slowed: a code given with the password is checked at once.
    slowed: bool = False
    # What an OK proved: the password, or the password and a code together.
    factors: tuple[str, ...] = ("password",)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def staff_actor(user: StaffUser, source_ip: str | None = None) -> Actor:
    return Actor(ActorType.STAFF, user.username, source_ip, staff_user_id=user.id)


def normalise(username: str) -> str:
    return username.strip().lower()


def locked_until(user: StaffUser, now: dt.datetime | None = None) -> dt.datetime | None:
    """Until when some address is locked out of this user's name (for administrators: the
    name still signs in from everywhere else)."""
    now = now or utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return user.locked_until
    return None


def check_password(
    db: Session,
    username: str,
    password: str,
    source_ip: str,
    now: dt.datetime | None = None,
    *,
    code: str = "",
) -> Attempt:
    """The first step of signing in (with `code`, both steps at once: only while the name
    is slowed is a code looked at here). Every answer but OK is audited here."""
    now = now or utcnow()
    username = normalise(username)
    throttled = _address_blocked(db, source_ip, now)
    user = db.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    # Always verify, even when the answer is already known, so every path costs the same.
    right = passwords.verify(user, password)
    actor = Actor(ActorType.STAFF, username[:64] or "-", source_ip)
    if throttled is not None:
        _failed(db, actor, username, "throttled")
        return Attempt(Outcome.THROTTLED, until=throttled)
    if (until := _locked(db, username, source_ip, now)) is not None:
        _failed(db, actor, username, "locked")
        return Attempt(Outcome.LOCKED, user, until)
    if _slowed(db, username, now):
        if code:
            return _password_and_code(db, user, username, right, code, source_ip, now)
        try:
            # One check per step for the name, whoever asks: the rest wait, unchecked.
            hit(db, key_of(db, "staff:login:slow", username), Limit(1, SLOW_STEP), now)
        except RateLimited as limited:
            _failed(db, actor, username, "slowed")
            return Attempt(Outcome.SLOWED, user, now + limited.retry_after, slowed=True)
    if user is None or not right:
        return _count_failure(db, user, actor, username, source_ip, "password", now)
    if not user.active:
        _failed(db, actor, username, "inactive")
        return Attempt(Outcome.INACTIVE, user)
    return Attempt(Outcome.OK, user)


def _password_and_code(
    db: Session,
    user: StaffUser | None,
    username: str,
    right: bool,
    code: str,
    source_ip: str,
    now: dt.datetime,
) -> Attempt:
    """Both factors at once, for a slowed name: OK only if both are right, and the same
    failure whichever was wrong."""
    actor = Actor(ActorType.STAFF, username[:64] or "-", source_ip)
    step = mfa.matching_step(user.mfa_secret, code, now) if user and user.mfa_secret else None
    if user is None or not right or step is None or not _claim_step(db, user, step):
        return _count_failure(db, user, actor, username, source_ip, "password or code", now)
    if not user.active:
        _failed(db, actor, username, "inactive")
        return Attempt(Outcome.INACTIVE, user)
    return Attempt(Outcome.OK, user, factors=("password", "totp"))


def check_code(
    db: Session,
    user: StaffUser,
    secret: str,
    code: str,
    source_ip: str,
    now: dt.datetime | None = None,
) -> Attempt:
    """The second step (or the enrolment confirmation): a wrong code counts as a failure.

    A code is accepted once: a code already used (here or in a concurrent request) gets
    the same answer as a wrong one, and counts the same.
    """
    now = now or utcnow()
    actor = staff_actor(user, source_ip)
    if (until := _locked(db, user.username, source_ip, now)) is not None:
        _failed(db, actor, user.username, "locked")
        return Attempt(Outcome.LOCKED, user, until)
    if not user.active:
        _failed(db, actor, user.username, "inactive")
        return Attempt(Outcome.INACTIVE, user)
    step = mfa.matching_step(secret, code, now)
    if step is None:
        return _count_failure(db, user, actor, user.username, source_ip, "code", now)
    if not _claim_step(db, user, step):
        return _count_failure(db, user, actor, user.username, source_ip, "code reused", now)
    return Attempt(Outcome.OK, user)


def check_current_password(
    db: Session, user: StaffUser, password: str, source_ip: str, now: dt.datetime | None = None
) -> Attempt:
    """Before a signed-in user changes their password: a wrong one counts toward lockout."""
    now = now or utcnow()
    actor = staff_actor(user, source_ip)
    if (until := _locked(db, user.username, source_ip, now)) is not None:
        _failed(db, actor, user.username, "locked")
        return Attempt(Outcome.LOCKED, user, until)
    if not passwords.verify(user, password):
        return _count_failure(db, user, actor, user.username, source_ip, "current password", now)
    return Attempt(Outcome.OK, user)


def _claim_step(db: Session, user: StaffUser, step: int) -> bool:
    """Record `step` as used unless it (or a later one) already is.

    One conditional UPDATE: of two requests with the same code, the second waits for the
    first's row lock and then matches no row, so only one of them signs in.
    """
    claimed = db.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.mfa_last_step.is_(None), StaffUser.mfa_last_step < step),
        )
        .values(mfa_last_step=step)
        .returning(StaffUser.id)
    ).first()
    return claimed is not None


def enrol(
    db: Session, user: StaffUser, secret: str, source_ip: str, step: int | None = None
) -> None:
    """Keep the confirmed secret, and the step of the code that confirmed it.

    At sign-in `check_code` has recorded the step already; outside it, pass `step`.
    """
    user.mfa_secret = secret
    if step is not None:
        user.mfa_last_step = step
    audit.record(db, staff_actor(user, source_ip), AuditAction.MFA_ENROLLED, "staff_user", user.id)


def record_login(db: Session, user: StaffUser, source_ip: str, factors: list[str]) -> None:
    """Audit a sign-in. One with the password starts the count of this address again.

    Only this address's: a right password here says nothing about the guesses made
    elsewhere, which would otherwise start afresh each time the real person signs in.
    Single sign-on proves nothing about the password, so it lifts no lock (the audit
    says one stands); nor does a lock stop SSO, or anyone could shut an SSO user out by
    typing wrong passwords for their name. Deactivation does stop it.
    """
    details: dict[str, object] = {"factors": factors}
    if "password" in factors:
        db.execute(
            delete(RateLimitWindow).where(
                RateLimitWindow.key == _lock_key(db, user.username, source_ip)
            )
        )
    if (until := locked_until(user)) is not None:
        details["password_locked_until"] = until.isoformat()
    audit.record(
        db,
        staff_actor(user, source_ip),
        AuditAction.LOGIN_SUCCEEDED,
        "staff_user",
        user.id,
        details,
    )


def clear_failures(db: Session, user: StaffUser) -> None:
    """Lift every lock on the user's name and forget its failures (an administrator)."""
    user.locked_until = None
    name = key_of(db, "staff:login:name", user.username)
    db.execute(
        delete(RateLimitWindow).where(
            or_(
                RateLimitWindow.key.startswith(_lock_prefix(db, user.username), autoescape=True),
                RateLimitWindow.key == name,
                RateLimitWindow.key == key_of(db, "staff:login:slow", user.username),
            )
        )
    )


def record_logout(db: Session, user: StaffUser, source_ip: str, *, everywhere: bool) -> int:
    """Audit a sign-out; with `everywhere`, end every session of the user. Returns how many."""
    ended = end_all_for_user(db, user.id) if everywhere else 1
    action = AuditAction.LOGOUT_EVERYWHERE if everywhere else AuditAction.LOGOUT
    audit.record(
        db, staff_actor(user, source_ip), action, "staff_user", user.id, {"sessions": ended}
    )
    return ended


def _failed(db: Session, actor: Actor, username: str, reason: str) -> None:
    audit.record(
        db, actor, AuditAction.LOGIN_FAILED, "staff_user", username or "-", {"reason": reason}
    )


def _count_failure(
    db: Session,
    user: StaffUser | None,
    actor: Actor,
    username: str,
    source_ip: str,
    reason: str,
    now: dt.datetime,
) -> Attempt:
    """Count a failure for `username` (known or not) from `source_ip`: INVALID, or LOCKED
    when it is this address's fifth for the name."""
    _failed(db, actor, username, "unknown user" if user is None else reason)
    if user is not None:
        # Rows are locked in one order everywhere, so concurrent failures never deadlock:
        # the user's (a refused code may hold it already, `_claim_step`), then the counts.
        db.execute(select(StaffUser.id).where(StaffUser.id == user.id).with_for_update())
    until = _count_lock(db, username, source_ip, now)
    count(
        db,
        [
            (key_of(db, "staff:login:name", username), SLOW_AFTER),
            (key_of(db, "staff:login:address", source_ip), FAILURES_PER_ADDRESS),
            (_EVERYWHERE, FAILURES_EVERYWHERE),
        ],
        now,
    )
    slowed = _slowed(db, username, now)
    if until is None:
        return Attempt(Outcome.INVALID, user, slowed=slowed)
    if user is not None:
        # For administrators to see (and unlock); sign-ins elsewhere go on.
        user.locked_until = max(until, user.locked_until or until)
        audit.record(
            db,
            actor,
            AuditAction.ACCOUNT_LOCKED,
            "staff_user",
            user.id,
            {"failures": MAX_FAILURES, "until": until.isoformat(), "address": source_ip},
        )
    return Attempt(Outcome.LOCKED, user, until, slowed=slowed)


def _lock_prefix(db: Session, username: str) -> str:
    return key_of(db, "staff:login:lock", username) + ":"


def _lock_key(db: Session, username: str, source_ip: str) -> str:
    return key_of(db, "staff:login:lock", username, source_ip)


def _count_lock(db: Session, username: str, source_ip: str, now: dt.datetime) -> dt.datetime | None:
    """Count a failure against the name from this address: the lock's end if it locks now.
    Counted in SQL, so two at the same moment both count."""
    key = _lock_key(db, username, source_ip)
    try:
        hit(db, key, Limit(MAX_FAILURES - 1, LOCK_FOR), now)
    except RateLimited:
        # The row now says when the lock began: it lasts LOCK_FOR from the fifth failure.
        db.execute(
            update(RateLimitWindow)
            .where(RateLimitWindow.key == key)
            .values(window_start=now, count=MAX_FAILURES)
        )
        return now + LOCK_FOR
    return None


def _locked(db: Session, username: str, source_ip: str, now: dt.datetime) -> dt.datetime | None:
    """Until when this address is locked out of the name, if it is."""
    row = db.execute(
        select(RateLimitWindow.window_start, RateLimitWindow.count).where(
            RateLimitWindow.key == _lock_key(db, username, source_ip)
        )
    ).first()
    if row is None:
        return None
    began, failures = row
    until = began + LOCK_FOR
    return until if failures >= MAX_FAILURES and until > now else None


def _slowed(db: Session, username: str, now: dt.datetime) -> bool:
    """Whether the name (or every name, past the ceiling) has failed too often lately."""
    limits = {
        key_of(db, "staff:login:name", username): SLOW_AFTER,
        _EVERYWHERE: FAILURES_EVERYWHERE,
    }
    rows = db.execute(
        select(RateLimitWindow.key, RateLimitWindow.window_start, RateLimitWindow.count).where(
            RateLimitWindow.key.in_(list(limits))
        )
    ).all()
    return any(
        used >= limits[key].attempts and began > now - limits[key].window
        for key, began, used in rows
    )


def _address_blocked(db: Session, source_ip: str, now: dt.datetime) -> dt.datetime | None:
    row = db.get(RateLimitWindow, key_of(db, "staff:login:address", source_ip))
    if row is None or row.count < FAILURES_PER_ADDRESS.attempts:
        return None
    until = row.window_start + FAILURES_PER_ADDRESS.window
    return until if until > now else None


def end_all_for_user(db: Session, staff_user_id: int) -> int:
    """Delete every session of a staff user ("log out everywhere"); returns how many."""
    result = db.execute(delete(WebSession).where(WebSession.staff_user_id == staff_user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]
