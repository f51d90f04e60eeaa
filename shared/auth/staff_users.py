"""Staff users: creation with argon2id passwords and default roles."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.i18n import gettext_ as _
from shared.models import Permission, Role, RoleAssignment, StaffUser
from shared.permissions import DEFAULT_ROLES, PERMISSIONS

hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class StaffError(ValueError):
    """A staff user cannot be created as asked; `str()` says why, translated where raised."""


def ensure_default_roles(session: Session) -> dict[str, Role]:
    """Create the permission catalogue and default roles if missing (idempotent)."""
    existing = {p.code for p in session.scalars(select(Permission))}
    for code, description in PERMISSIONS.items():
        if code not in existing:
            session.add(Permission(code=code, description=description))
    session.flush()
    permissions = {p.code: p for p in session.scalars(select(Permission))}
    roles = {r.name: r for r in session.scalars(select(Role))}
    for name, (description, codes) in DEFAULT_ROLES.items():
        if name not in roles:
            role = Role(name=name, description=description)
            role.permissions = [permissions[c] for c in sorted(codes)]
            session.add(role)
            roles[name] = role
    session.flush()
    return roles


def create_staff(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    display_name: str,
    roles: list[str],
    email: str | None = None,
) -> StaffUser:
    username = username.strip().lower()
    if any(holds_card_number(value or "") for value in (username, display_name, email)):
        raise StaffError(_(CARD_NUMBER_REFUSED))
    if not username or not username.replace(".", "").replace("-", "").isalnum():
        raise StaffError(_("Usernames use letters, digits, dots and dashes."))
    if len(password) < 12:
        raise StaffError(_("Passwords need at least 12 characters."))
    if session.scalars(select(StaffUser).where(StaffUser.username == username)).first():
        raise StaffError(_("There is already a user called %(username)s.") % {"username": username})
    known = ensure_default_roles(session)
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise StaffError(
            _("Unknown role(s): %(unknown)s. Known: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(known))}
        )
    user = StaffUser(
        username=username,
        display_name=display_name,
        email=email,
        password_hash=hasher.hash(password),
    )
    session.add(user)
    session.flush()
    for name in roles:
        session.add(RoleAssignment(user_id=user.id, role_id=known[name].id))
    audit.record(
        session, actor, audit.AuditAction.STAFF_CREATED, "staff_user", username, {"roles": roles}
    )
    session.flush()
    return user
