"""Roles and their permissions: creating a role, changing what a role allows.

Every change is audited with the permission sets before and after. A change that would
leave no active user able to manage users or roles is refused: nobody could undo it from
the console.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.audit import AuditAction
from shared.models import Permission, Role, RoleAssignment, StaffUser
from shared.models.staff import role_permissions

# Someone active must keep each of these, or administration is locked out for good.
KEEP_HELD = ("admin:roles", "admin:users")


class WouldLockOut(ValueError):
    """The change would leave nobody able to manage users or roles."""

    def __init__(self, permissions: list[str]) -> None:
        super().__init__(f"nobody active would hold {', '.join(permissions)}")
        self.permissions = permissions


def codes_of(role: Role) -> list[str]:
    return sorted(p.code for p in role.permissions)


def catalogue(db: Session) -> dict[str, Permission]:
    return {p.code: p for p in db.scalars(select(Permission).order_by(Permission.code))}


def create_role(
    db: Session, actor: Actor, name: str, description: str, codes: Iterable[str]
) -> Role:
    """A new role with these permissions (names and codes checked by the caller)."""
    known = catalogue(db)
    role = Role(name=name, description=description)
    role.permissions = [known[c] for c in sorted(set(codes))]
    db.add(role)
    db.flush()
    details = {"name": name, "description": description, "permissions": codes_of(role)}
    audit.record(db, actor, AuditAction.ROLE_CREATED, "role", role.id, details)
    return role


def set_permissions(db: Session, actor: Actor, role: Role, codes: Iterable[str]) -> bool:
    """Give `role` exactly these permissions; False if nothing changed.

    Raises WouldLockOut, changing nothing, when the change would take `admin:roles` or
    `admin:users` from the last active users holding it.
    """
    before, after = codes_of(role), sorted(set(codes))
    if before == after:
        return False
    held = administered(db)
    known = catalogue(db)
    role.permissions = [known[c] for c in after]
    try:
        refuse_lock_out(db, held)
    except WouldLockOut:
        role.permissions = [known[c] for c in before]
        db.flush()
        raise
    audit.record(
        db,
        actor,
        AuditAction.ROLE_PERMISSIONS_CHANGED,
        "role",
        role.id,
        {
            "role": role.name,
            "before": before,
            "after": after,
            "added": sorted(set(after) - set(before)),
            "removed": sorted(set(before) - set(after)),
        },
    )
    db.flush()
    return True


def administered(db: Session) -> set[str]:
    """Which of KEEP_HELD some active user holds now (department-wide assignments only)."""
    code = role_permissions.c.permission_code
    return set(
        db.scalars(
            select(code)
            .distinct()
            .join(RoleAssignment, RoleAssignment.role_id == role_permissions.c.role_id)
            .join(StaffUser, StaffUser.id == RoleAssignment.user_id)
            .where(
                StaffUser.active.is_(True),
                RoleAssignment.department_id.is_(None),
                code.in_(KEEP_HELD),
            )
        )
    )


def refuse_lock_out(db: Session, held_before: set[str]) -> None:
    """After a change to someone's roles or status (flushed, not committed): raise
    WouldLockOut if something of KEEP_HELD held before is now held by nobody active.
    The caller rolls the change back."""
    db.flush()
    held_after = administered(db)
    lost = [code for code in KEEP_HELD if code in held_before and code not in held_after]
    if lost:
        raise WouldLockOut(lost)
