"""Argon2id password checks that take the same time whether or not the user exists."""

from __future__ import annotations

import secrets
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError

from shared.auth.staff_users import hasher
from shared.models import StaffUser

MIN_LENGTH = 12


@cache
def _dummy_hash() -> str:
    # Verified against when the user is unknown, so the answer takes as long as a real check.
    return hasher.hash(secrets.token_urlsafe(16))


def verify(user: StaffUser | None, password: str) -> bool:
    """True when `password` is the user's; upgrades the hash if its parameters are stale."""
    stored = user.password_hash if user is not None else None
    try:
        hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None or stored is None:
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    return True


def too_short(password: str) -> bool:
    return len(password) < MIN_LENGTH


def set_password(user: StaffUser, password: str) -> None:
    if too_short(password):
        raise ValueError(f"Passwords need at least {MIN_LENGTH} characters.")
    user.password_hash = hasher.hash(password)
