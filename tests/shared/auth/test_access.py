from __future__ import annotations

import re

from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.auth.access import (
    UserPermissions,
    can,
    permissions_of,
    role_names,
    user_with_permissions,
)
from shared.models import Role, RoleAssignment
from shared.permissions import PERMISSIONS
from shared.staff_accounts import create_staff, ensure_default_roles
from tests import factories


def test_department_limited_roles(db: Session) -> None:
    tax, water = factories.department(db), factories.department(db, name="Water")
    roles = ensure_default_roles(db)
    user = create_staff(
        db, SYSTEM, username="scoped", password="x" * 12, display_name="S", roles=["auditor"]
    )
    db.add(RoleAssignment(user_id=user.id, role_id=roles["cashier"].id, department_id=tax.id))
    db.add(RoleAssignment(user_id=user.id, role_id=roles["admin"].id, department_id=water.id))
    db.flush()
    perms = permissions_of(db, user)
    assert perms.roles == ("admin", "auditor", "cashier")
    assert can(perms, "audit:view", water.id)  # an unscoped role: everywhere
    assert can(perms, "payments:take", tax.id)
    assert can(perms, "payments:take", water.id)  # the water-limited admin role has it
    assert not can(perms, "payments:take", water.id + tax.id)
    assert can(perms, "payments:take")  # held somewhere
    assert perms.departments_for("payments:take") == {tax.id, water.id}
    assert perms.departments_for("audit:view") is None
    assert not can(perms, "admin:users")
    assert not can(perms, "admin:users", water.id)
    assert role_names(db, user) == {"admin", "auditor", "cashier"}
    assert user_with_permissions(db, user.id) == (user, perms)


def test_no_roles_no_permissions() -> None:
    perms = UserPermissions(frozenset())
    assert not can(perms, "customers:view")
    assert not can(perms, "customers:view", 1)
    assert perms.departments_for("customers:view") == frozenset()


def test_admin_rules_and_roles_without_permissions(db: Session) -> None:
    water = factories.department(db, name="Water")
    roles = ensure_default_roles(db)
    empty = Role(name="empty", description="No permissions yet")
    db.add(empty)
    db.flush()
    admin = create_staff(
        db, SYSTEM, username="boss", password="x" * 12, display_name="B", roles=["admin"]
    )
    db.add(RoleAssignment(user_id=admin.id, role_id=empty.id, department_id=water.id))
    scoped = create_staff(
        db, SYSTEM, username="local", password="x" * 12, display_name="L", roles=["empty"]
    )
    db.add(RoleAssignment(user_id=scoped.id, role_id=roles["admin"].id, department_id=water.id))
    db.flush()

    everywhere = permissions_of(db, admin)
    assert everywhere.roles == ("admin", "empty")
    assert can(everywhere, "admin:users")  # an unscoped admin role: admin:* too
    assert can(everywhere, "admin:users", water.id)
    assert everywhere.departments_for("admin:users") is None

    assert user_with_permissions(db, admin.id) == (admin, everywhere)

    local = permissions_of(db, scoped)
    assert local.roles == ("admin", "empty")
    assert not can(local, "admin:users")
    assert local.departments_for("admin:users") == frozenset()
    assert can(local, "payments:take", water.id)
    assert local.departments_for("payments:take") == {water.id}
    assert local.everywhere == frozenset()
    assert user_with_permissions(db, scoped.id) == (scoped, local)


def test_a_user_without_assignments_holds_nothing(db: Session) -> None:
    user = create_staff(db, SYSTEM, username="new", password="x" * 12, display_name="N", roles=[])
    perms = permissions_of(db, user)
    assert perms == UserPermissions(frozenset(), {}, ())
    assert user_with_permissions(db, user.id) == (user, perms)
    assert user_with_permissions(db, user.id + 1_000) is None


def test_permission_codes_hold_no_spaces() -> None:
    # user_with_permissions has the database join a role's codes with spaces.
    assert all(re.fullmatch(r"[a-z_]+:[a-z_]+", code) for code in PERMISSIONS)
