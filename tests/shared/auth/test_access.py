from __future__ import annotations

from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.auth.access import UserPermissions, can, permissions_of, role_names
from shared.models import RoleAssignment
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


def test_no_roles_no_permissions() -> None:
    perms = UserPermissions(frozenset())
    assert not can(perms, "customers:view")
    assert not can(perms, "customers:view", 1)
    assert perms.departments_for("customers:view") == frozenset()
