from __future__ import annotations

from sqlalchemy import delete, event, text
from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.auth.access import (
    UserPermissions,
    can,
    permissions_of,
    role_names,
    user_with_permissions,
)
from shared.auth.staff_users import create_staff, ensure_default_roles
from shared.models import Role, RoleAssignment
from shared.models.staff import role_permissions
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


def test_a_change_to_anyone_s_access_is_seen_on_the_next_load(db: Session) -> None:
    # Permissions are cached under the access stamp, which triggers on roles, role
    # permissions and role assignments replace: however the change is made.
    tax = factories.department(db)
    roles = ensure_default_roles(db)
    user = create_staff(
        db, SYSTEM, username="agent", password="x" * 12, display_name="A", roles=["agent"]
    )
    assert _loaded(db, user.id).roles == ("agent",)
    assert _loaded(db, user.id) == _loaded(db, user.id)  # from the cache now

    db.execute(
        delete(role_permissions).where(
            role_permissions.c.role_id == roles["agent"].id,
            role_permissions.c.permission_code == "notes:write",
        )
    )
    assert not can(_loaded(db, user.id), "notes:write")

    db.add(RoleAssignment(user_id=user.id, role_id=roles["cashier"].id, department_id=tax.id))
    db.flush()
    assert can(_loaded(db, user.id), "payments:take", tax.id)

    db.execute(text("UPDATE roles SET name = 'counter' WHERE name = 'cashier'"))
    assert _loaded(db, user.id).roles == ("agent", "counter")

    db.execute(delete(RoleAssignment).where(RoleAssignment.user_id == user.id))
    assert _loaded(db, user.id) == UserPermissions(frozenset(), {}, ())
    assert _loaded(db, user.id) == permissions_of(db, user)


def test_a_cached_load_reads_the_user_and_the_stamp_only(db: Session) -> None:
    ensure_default_roles(db)
    user = create_staff(
        db, SYSTEM, username="agent", password="x" * 12, display_name="A", roles=["agent"]
    )
    _loaded(db, user.id)
    statements: list[str] = []
    engine = db.get_bind().engine
    listen = event.listens_for(engine, "before_cursor_execute")

    @listen
    def _count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    try:
        assert can(_loaded(db, user.id), "notes:write")
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    assert len(statements) == 1
    assert "role_permissions" not in statements[0]


def _loaded(db: Session, user_id: int) -> UserPermissions:
    found = user_with_permissions(db, user_id)
    assert found is not None
    return found[1]
