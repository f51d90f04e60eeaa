"""Changing what a role allows: audited, and never leaving administration locked out."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.audit import AuditAction
from shared.auth import admin, roles
from shared.auth.roles import WouldLockOut
from shared.auth.staff_users import create_staff, ensure_default_roles
from shared.models import AuditEvent, Department, Role, RoleAssignment, StaffUser


def _role(db: Session, name: str) -> Role:
    return db.scalars(select(Role).where(Role.name == name)).one()


def _staff(db: Session, name: str, role_names: list[str], *, active: bool = True) -> StaffUser:
    user = create_staff(
        db, SYSTEM, username=name, password="a-long-password", display_name=name, roles=role_names
    )
    user.active = active
    db.flush()
    return user


@pytest.fixture
def no_one_holds_a_role(db: Session) -> Session:
    """A database where nobody but the users a test makes holds any role."""
    ensure_default_roles(db)
    for assignment in db.scalars(select(RoleAssignment)):
        db.delete(assignment)
    db.flush()
    return db


def test_a_change_is_audited_with_before_and_after(no_one_holds_a_role: Session) -> None:
    db = no_one_holds_a_role
    role = roles.create_role(db, SYSTEM, "parks.clerk", "Parks desk", ["notes:write"])
    assert roles.set_permissions(db, SYSTEM, role, ["notes:write", "customers:view"])
    assert not roles.set_permissions(db, SYSTEM, role, ["customers:view", "notes:write"])
    db.commit()
    details = db.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.object_type == "role", AuditEvent.object_id == str(role.id))
        .order_by(AuditEvent.seq)
    ).all()
    assert details == [
        {"name": "parks.clerk", "description": "Parks desk", "permissions": ["notes:write"]},
        {
            "role": "parks.clerk",
            "before": ["notes:write"],
            "after": ["customers:view", "notes:write"],
            "added": ["customers:view"],
            "removed": [],
        },
    ]
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "role")).all()
    assert list(actions) == [AuditAction.ROLE_CREATED, AuditAction.ROLE_PERMISSIONS_CHANGED]


def test_the_last_holder_of_admin_roles_keeps_it(no_one_holds_a_role: Session) -> None:
    db = no_one_holds_a_role
    _staff(db, "only.admin", ["admin"])
    admin = _role(db, "admin")
    everything_else = [p.code for p in admin.permissions if p.code != "admin:roles"]
    with pytest.raises(WouldLockOut) as refused:
        roles.set_permissions(db, SYSTEM, admin, everything_else)
    assert refused.value.permissions == ["admin:roles"]
    assert "admin:roles" in roles.codes_of(admin)
    with pytest.raises(WouldLockOut) as both:
        roles.set_permissions(db, SYSTEM, admin, ["audit:view"])
    assert both.value.permissions == ["admin:roles", "admin:users"]


def test_inactive_and_department_limited_holders_do_not_count(no_one_holds_a_role: Session) -> None:
    db = no_one_holds_a_role
    _staff(db, "only.admin", ["admin"])
    keeper = roles.create_role(db, SYSTEM, "keeper", "Keeps admin", ["admin:roles", "admin:users"])
    _staff(db, "gone", ["keeper"], active=False)
    limited = _staff(db, "limited", [])
    department = Department(code="parks", name="Parks")
    db.add(department)
    db.flush()
    db.add(RoleAssignment(user_id=limited.id, role_id=keeper.id, department_id=department.id))
    db.flush()
    admin = _role(db, "admin")
    with pytest.raises(WouldLockOut):
        roles.set_permissions(db, SYSTEM, admin, ["audit:view"])


def test_another_active_holder_allows_the_change(no_one_holds_a_role: Session) -> None:
    db = no_one_holds_a_role
    _staff(db, "only.admin", ["admin"])
    roles.create_role(db, SYSTEM, "keeper", "Keeps admin", ["admin:roles", "admin:users"])
    _staff(db, "keeper.person", ["keeper"])
    admin = _role(db, "admin")
    assert roles.set_permissions(db, SYSTEM, admin, ["audit:view"])
    assert roles.codes_of(admin) == ["audit:view"]


def test_other_roles_can_change_even_when_nobody_administers(no_one_holds_a_role: Session) -> None:
    # A fresh installation before its first administrator: nothing to lose, nothing refused.
    db = no_one_holds_a_role
    assert roles.set_permissions(db, SYSTEM, _role(db, "agent"), ["customers:view"])


def test_removing_the_last_holders_role_or_account_is_refused(
    no_one_holds_a_role: Session,
) -> None:
    """A user manager (admin:users, not admin:roles) cannot strip or deactivate the only
    person who can manage roles; the same change is fine while someone else holds it."""
    db = no_one_holds_a_role
    roles.create_role(db, SYSTEM, "user.desk", "Manages users", ["admin:users"])
    _staff(db, "manager", ["user.desk"])
    keeper = _staff(db, "keeper", ["admin"])
    db.commit()
    held = roles.administered(db)
    assert held == {"admin:roles", "admin:users"}

    (assignment,) = db.scalars(select(RoleAssignment).where(RoleAssignment.user_id == keeper.id))
    admin.remove_role(db, SYSTEM, assignment)
    with pytest.raises(WouldLockOut) as refused:
        roles.refuse_lock_out(db, held)
    assert refused.value.permissions == ["admin:roles"]
    db.rollback()

    reloaded = db.get(StaffUser, keeper.id)
    assert reloaded is not None and reloaded.active
    admin.set_active(db, SYSTEM, reloaded, False)
    with pytest.raises(WouldLockOut):
        roles.refuse_lock_out(db, held)
    db.rollback()

    _staff(db, "second.keeper", ["admin"])
    keeper_again = db.get(StaffUser, keeper.id)
    assert keeper_again is not None and keeper_again.active
    admin.set_active(db, SYSTEM, keeper_again, False)
    roles.refuse_lock_out(db, held)  # second.keeper still holds both: no refusal
