"""What a staff user may do: the union of their roles, each possibly limited to a department.

A role given for one department grants its permissions for that department only.
Administration permissions (`admin:*`) are never department-limited: a role assignment
limited to a department does not grant them at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import AccessStamp, Role, RoleAssignment, StaffUser
from shared.models.staff import role_permissions

# Every signed-in staff user holds this pseudo-permission (for pages like the home page).
SIGNED_IN = "signed_in"
GLOBAL_ONLY_PREFIX = "admin:"


@dataclass(frozen=True)
class UserPermissions:
    everywhere: frozenset[str]
    by_department: Mapping[int, frozenset[str]] = field(default_factory=dict)
    roles: tuple[str, ...] = ()

    def held(self) -> frozenset[str]:
        """Every permission held, in some department or everywhere."""
        return self.everywhere.union(*self.by_department.values())

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


# Permissions by (access stamp, user id); see AccessStamp. Cleared when full.
_CACHE_SIZE = 4096
_cached: dict[tuple[str, int], UserPermissions] = {}
ACCESS_STAMP = select(AccessStamp.stamp).where(AccessStamp.id == 1).scalar_subquery()
"""Select it with the user: the permissions are cached under it (`cached_permissions`)."""


def user_with_permissions(db: Session, user_id: int) -> tuple[StaffUser, UserPermissions] | None:
    """A staff user and their permissions: every staff request needs both."""
    row = db.execute(select(StaffUser, ACCESS_STAMP).where(StaffUser.id == user_id)).first()
    if row is None:
        return None
    return row[0], cached_permissions(db, row[0], row[1])


def cached_permissions(db: Session, user: StaffUser, stamp: str | None) -> UserPermissions:
    """The user's permissions, from this process's cache while `stamp` (the access stamp
    read with the user) is unchanged: a change to anyone's access, made by any process,
    is seen on the next request."""
    if not stamp:  # no stamp row: nothing to key a cache on
        return permissions_of(db, user)
    key = (stamp, user.id)
    permissions = _cached.get(key)
    if permissions is None:
        # Read after the stamp: never older than what the stamp stands for.
        permissions = permissions_of(db, user)
        if len(_cached) >= _CACHE_SIZE:
            _cached.clear()
        _cached[key] = permissions
    return permissions


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


def permissions_of_roles(db: Session, names: Iterable[str]) -> frozenset[str]:
    """What the named roles allow together (held everywhere, as single sign-on gives them)."""
    return frozenset(
        db.scalars(
            select(role_permissions.c.permission_code)
            .join(Role, Role.id == role_permissions.c.role_id)
            .where(Role.name.in_(list(names)))
        )
    )


def role_names(db: Session, user: StaffUser) -> set[str]:
    return set(
        db.scalars(select(Role.name).join(RoleAssignment).where(RoleAssignment.user_id == user.id))
    )
