"""What a staff user may do: the union of their roles, each possibly limited to a department.

A role given for one department grants its permissions for that department only.
Administration permissions (`admin:*`) are never department-limited: a role assignment
limited to a department does not grant them at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Role, RoleAssignment, StaffUser
from shared.models.staff import role_permissions

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
    rows = db.execute(
        select(RoleAssignment.department_id, Role.name, role_permissions.c.permission_code)
        .join(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(role_permissions, role_permissions.c.role_id == Role.id)
        .where(RoleAssignment.user_id == user.id)
    ).all()
    return _permissions(rows)


def user_with_permissions(db: Session, user_id: int) -> tuple[StaffUser, UserPermissions] | None:
    """A staff user and their permissions in one query: every staff request needs both.

    One row per role assignment, its permissions joined into one string by the database
    (permission codes hold no spaces): the user is built once, not once per permission.
    """
    rows = db.execute(
        select(
            StaffUser,
            RoleAssignment.department_id,
            Role.name,
            func.aggregate_strings(role_permissions.c.permission_code, " "),
        )
        .outerjoin(RoleAssignment, RoleAssignment.user_id == StaffUser.id)
        .outerjoin(Role, Role.id == RoleAssignment.role_id)
        .outerjoin(role_permissions, role_permissions.c.role_id == Role.id)
        .where(StaffUser.id == user_id)
        .group_by(StaffUser.id, RoleAssignment.id, Role.id)
    ).all()
    if not rows:
        return None
    # A user without any role has one row with no role in it; a role without
    # permissions has one with no codes, so that it is listed among the roles.
    per_code = [
        (department, role, code)
        for _, department, role, codes in rows
        if role is not None
        for code in (codes.split(" ") if codes else [None])
    ]
    return rows[0][0], _permissions(per_code)


def _permissions(rows: Sequence[tuple[int | None, str, str | None]]) -> UserPermissions:
    """From one row per (role assignment, permission); a role without permissions has a
    row with no permission, so that it is listed among the roles."""
    everywhere: set[str] = set()
    by_department: dict[int, set[str]] = {}
    for department_id, _, code in rows:
        if department_id is None:
            if code is not None:
                everywhere.add(code)
            continue
        scoped = by_department.setdefault(department_id, set())
        if code is not None and not code.startswith(GLOBAL_ONLY_PREFIX):
            scoped.add(code)
    return UserPermissions(
        frozenset(everywhere),
        {d: frozenset(codes) for d, codes in by_department.items()},
        tuple(sorted({name for _, name, _ in rows})),
    )


def role_names(db: Session, user: StaffUser) -> set[str]:
    return set(
        db.scalars(select(Role.name).join(RoleAssignment).where(RoleAssignment.user_id == user.id))
    )
