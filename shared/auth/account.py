"""A staff member's own password: choosing one after an administrator's reset, or changing it.

An administrator's reset gives a temporary password (`must_change_password`): the person
signs in with it and must choose their own before anything else. Users who sign in only
through single sign-on have no password here, so none of this applies to them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared import audit
from shared.audit import AuditAction
from shared.auth import passwords
from shared.auth.login import end_all_for_user, staff_actor
from shared.models import StaffUser


def has_password(user: StaffUser) -> bool:
    return user.password_hash is not None


def password_change_due(user: StaffUser) -> bool:
    """Signed in with a temporary password: they choose their own before anything else."""
    return user.must_change_password and has_password(user)


def change_password(db: Session, user: StaffUser, new_password: str, source_ip: str) -> int:
    """Set the user's own new password and end their sessions; returns how many ended.

    The caller has checked the policy and the current password. Other browsers signed in
    as the user are signed out: whoever knew the old password loses what it gave them.
    """
    forced = password_change_due(user)
    passwords.set_password(user, new_password)
    user.must_change_password = False
    ended = end_all_for_user(db, user.id)
    audit.record(
        db,
        staff_actor(user, source_ip),
        AuditAction.PASSWORD_CHANGED,
        "staff_user",
        user.id,
        {"after_reset": forced, "sessions": ended},
    )
    return ended
