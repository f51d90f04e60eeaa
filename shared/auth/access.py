"""What a staff user may do: the union of their roles, each possibly limited to a department.

A role given for one department grants its permissions for that department only.
Administration permissions (`admin:*`) are never department-limited: a role assignment
limited to a department does not grant them at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shared.models import Role, RoleAssignment, StaffUser

# Every signed-in staff user holds this pseudo-permission (for pages like the home page).
SIGNED_IN = "signed_in"
GLOBAL_ONLY_PREFIX = "admin:"


@dataclass(frozen=True)
class UserPermissions:
    everywhere: frozenset[str]
    by_department: Mapping[int, frozenset[str]] = field(default_factory=dict)
    roles: tuple[str, ...] = ()

    def departments_for(self, permission: str) -> frozenset[int] | None:
        """Departments where `permission` is held; None means every department."""
        if permission in self.everywhere:
            return None
        return frozenset(d for d, perms in self.by_department.items() if permission in perms)


def can(perms: UserPermissions, permission: str, department_id: int | None = None) -> bool:
    """Whether `permission` is held for `department_id`, or anywhere when it is None."""
    if permission == SIGNED_IN or permission in perms.everywhere:
        return True
    if department_id is None:
        return any(permission in held for held in perms.by_department.values())
    return permission in perms.by_department.get(department_id, frozenset())


def permissions_of(db: Session, user: StaffUser) -> UserPermissions:
    assignments = db.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.user_id == user.id)
        .options(selectinload(RoleAssignment.role).selectinload(Role.permissions))
    ).all()
    everywhere: set[str] = set()
    by_department: dict[int, set[str]] = {}
    for assignment in assignments:
        codes = {p.code for p in assignment.role.permissions}
        if assignment.department_id is None:
            everywhere |= codes
        else:
            scoped = {c for c in codes if not c.startswith(GLOBAL_ONLY_PREFIX)}
            by_department.setdefault(assignment.department_id, set()).update(scoped)
    return UserPermissions(
        frozenset(everywhere),
        {d: frozenset(codes) for d, codes in by_department.items()},
        tuple(sorted({a.role.name for a in assignments})),
    )


def role_names(db: Session, user: StaffUser) -> set[str]:
    return set(
        db.scalars(select(Role.name).join(RoleAssignment).where(RoleAssignment.user_id == user.id))
    )
