"""Signing staff in: password and TOTP checks, throttling, lockout, and their audit trail.

Five wrong answers (password or code) within fifteen minutes lock the account for
fifteen minutes; an administrator can unlock it sooner. Failures are counted per
username in one place, the same way whether anyone has that name or not, so an unknown
username gets the same answers, lock times and timing as a real one: the form tells
nobody who works here. Failures from one address are also capped, against spraying
many usernames.
A TOTP code is good once: a code already used, or one older than it, is a wrong answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
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
from shared.rate_limit import Limit, RateLimited, hit

MAX_FAILURES = 5
# Also how long failures count toward a lock, from the first of them. One length for
# both keeps the count simple: once a lock is over, so is the window it was counted in.
LOCK_FOR = dt.timedelta(minutes=15)
FAILURES_PER_ADDRESS = Limit(100, dt.timedelta(minutes=15))


class Outcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"
    INACTIVE = "inactive"
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    user: StaffUser | None = None
    # For LOCKED and THROTTLED: when trying again can work.
    until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def staff_actor(user: StaffUser, source_ip: str | None = None) -> Actor:
    return Actor(ActorType.STAFF, user.username, source_ip, staff_user_id=user.id)


def normalise(username: str) -> str:
    return username.strip().lower()


def locked_until(user: StaffUser, now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return user.locked_until
    return None


def check_password(
    db: Session, username: str, password: str, source_ip: str, now: dt.datetime | None = None
) -> Attempt:
    """The first step of signing in. Every answer but OK is audited here."""
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
    if user is None:
        return _unknown_user_failed(db, actor, username, source_ip, now)
    if (until := locked_until(user, now)) is not None:
        _failed(db, actor, username, "locked")
        return Attempt(Outcome.LOCKED, user, until)
    if not right:
        return _count_failure(db, user, actor, source_ip, "password", now)
    if not user.active:
        _failed(db, actor, username, "inactive")
        return Attempt(Outcome.INACTIVE, user)
    return Attempt(Outcome.OK, user)


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
    if (until := locked_until(user, now)) is not None:
        _failed(db, actor, user.username, "locked")
        return Attempt(Outcome.LOCKED, user, until)
    if not user.active:
        _failed(db, actor, user.username, "inactive")
        return Attempt(Outcome.INACTIVE, user)
    step = mfa.matching_step(secret, code, now)
    if step is None:
        return _count_failure(db, user, actor, source_ip, "code", now)
    if not _claim_step(db, user, step):
        return _count_failure(db, user, actor, source_ip, "code reused", now)
    return Attempt(Outcome.OK, user)


def check_current_password(
    db: Session, user: StaffUser, password: str, source_ip: str, now: dt.datetime | None = None
) -> Attempt:
    """Before a signed-in user changes their password: a wrong one counts toward lockout."""
    now = now or utcnow()
    actor = staff_actor(user, source_ip)
    if (until := locked_until(user, now)) is not None:
        _failed(db, actor, user.username, "locked")
        return Attempt(Outcome.LOCKED, user, until)
    if not passwords.verify(user, password):
        return _count_failure(db, user, actor, source_ip, "current password", now)
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
    """Audit a sign-in. One with the password starts its failure count again.

    Single sign-on proves nothing about the password: a lock against guessing it stays
    (the audit says so), or a guesser would get fresh tries each time the real person
    signs in through the IdP. Nor does that lock stop SSO, or anyone could shut an SSO
    user out by typing wrong passwords for their name; deactivation does stop it.
    """
    details: dict[str, object] = {"factors": factors}
    if "password" in factors:
        clear_failures(db, user)
    elif (until := locked_until(user)) is not None:
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
    """Forget the user's failed sign-ins and lift a lock (a right password, an admin)."""
    user.locked_until = None
    db.execute(delete(RateLimitWindow).where(RateLimitWindow.key == _name_key(user.username)))


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
    db: Session, user: StaffUser, actor: Actor, source_ip: str, reason: str, now: dt.datetime
) -> Attempt:
    _failed(db, actor, user.username, reason)
    # Rows are locked in one order everywhere, so concurrent failures never deadlock: the
    # user's (a refused code may hold it already, `_claim_step`), the name's, the address's.
    db.execute(select(StaffUser.id).where(StaffUser.id == user.id).with_for_update())
    until = _count_name_failure(db, user.username, source_ip, now)
    if until is None:
        return Attempt(Outcome.INVALID, user)
    user.locked_until = until
    audit.record(
        db,
        actor,
        AuditAction.ACCOUNT_LOCKED,
        "staff_user",
        user.id,
        {"failures": MAX_FAILURES, "until": until.isoformat()},
    )
    return Attempt(Outcome.LOCKED, user, until)


def _unknown_user_failed(
    db: Session, actor: Actor, username: str, source_ip: str, now: dt.datetime
) -> Attempt:
    # What `check_password` does for a real user, with the name's row in place of the
    # user's `locked_until`: locked, no count; else counted, and locked at the fifth.
    _failed(db, actor, username, "unknown user")
    if (until := _name_locked(db, username, now)) is None:
        until = _count_name_failure(db, username, source_ip, now)
    if until is not None:
        return Attempt(Outcome.LOCKED, until=until)
    return Attempt(Outcome.INVALID)


def _name_key(username: str) -> str:
    # Hashed: the table does not list the names people tried.
    return "staff:login:name:" + hashlib.sha256(username.encode()).hexdigest()[:40]


def _count_name_failure(
    db: Session, username: str, source_ip: str, now: dt.datetime
) -> dt.datetime | None:
    """Count a failure against `username`, known or not: the lock's end if it locks now.
    Counted in SQL, so two at the same moment both count; this rate-limit row is the one
    count of a name's failures."""
    key = _name_key(username)
    try:
        hit(db, key, Limit(MAX_FAILURES - 1, LOCK_FOR), now)
    except RateLimited:
        # The row now says when the lock began, which is all an unknown name has.
        db.execute(
            update(RateLimitWindow)
            .where(RateLimitWindow.key == key)
            .values(window_start=now, count=MAX_FAILURES)
        )
        _note_address_failure(db, source_ip, now)
        return now + LOCK_FOR
    _note_address_failure(db, source_ip, now)
    return None


def _name_locked(db: Session, username: str, now: dt.datetime) -> dt.datetime | None:
    row = db.execute(
        select(RateLimitWindow.window_start, RateLimitWindow.count).where(
            RateLimitWindow.key == _name_key(username)
        )
    ).first()
    if row is None:
        return None
    began, failures = row
    until = began + LOCK_FOR
    return until if failures >= MAX_FAILURES and until > now else None


def _address_key(source_ip: str) -> str:
    return f"staff:login:address:{source_ip}"[:200]


def _note_address_failure(db: Session, source_ip: str, now: dt.datetime) -> None:
    # Past the limit, the next attempt is refused before it is checked.
    with contextlib.suppress(RateLimited):
        hit(db, _address_key(source_ip), FAILURES_PER_ADDRESS, now)


def _address_blocked(db: Session, source_ip: str, now: dt.datetime) -> dt.datetime | None:
    row = db.get(RateLimitWindow, _address_key(source_ip))
    if row is None or row.count <= FAILURES_PER_ADDRESS.attempts:
        return None
    until = row.window_start + FAILURES_PER_ADDRESS.window
    return until if until > now else None


def end_all_for_user(db: Session, staff_user_id: int) -> int:
    """Delete every session of a staff user ("log out everywhere"); returns how many."""
    result = db.execute(delete(WebSession).where(WebSession.staff_user_id == staff_user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]
