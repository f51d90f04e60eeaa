"""Administration of staff users: every change works without JavaScript and is audited."""

from __future__ import annotations

from sqlalchemy import select

from shared import audit
from shared.audit import AuditAction
from shared.db import transaction
from shared.models import AuditEvent, RoleAssignment, StaffUser
from tests.staff.conftest import Console, csrf, post, post_login, sign_in, signed_in


def _audited(console: Console, action: AuditAction, object_id: object) -> list[str]:
    with transaction(console.factory) as db:
        return list(
            db.scalars(
                select(AuditEvent.actor_id).where(
                    AuditEvent.action == action, AuditEvent.object_id == str(object_id)
                )
            )
        )


def test_create_a_user_and_they_can_sign_in(console: Console) -> None:
    admin, admin_account = signed_in(console, ["admin"])
    page = admin.get("/staff/admin/users/new")
    assert page.status_code == 200 and 'name="roles"' in page.text
    short = post(
        admin,
        "/staff/admin/users/new",
        {"username": "New.Person", "display_name": "New Person", "password": "short"},
    )
    assert short.status_code == 422
    assert "at least 12 characters" in short.text and "Choose at least one role." in short.text
    assert 'href="#user-password"' in short.text
    created = admin.post(
        "/staff/admin/users/new",
        data={
            "username": "new.person",
            "display_name": "New Person",
            "email": "new@example.org",
            "roles": ["agent", "cashier"],
            "password": "a-long-temporary-pw",
            "csrf_token": csrf(admin),
        },
    )
    assert created.status_code == 303
    detail = admin.get(created.headers["location"])
    assert "User new.person created." in detail.text
    assert admin.get("/staff/admin/users").text.count("new.person") >= 1
    assert _audited(console, AuditAction.STAFF_CREATED, "new.person") == [admin_account.username]
    person = console.client()
    assert post_login(person, "new.person", "a-long-temporary-pw").status_code == 303
    duplicate = post(
        admin,
        "/staff/admin/users/new",
        {"username": "new.person", "display_name": "X", "roles": "agent", "password": "x" * 12},
    )
    assert "There is already a user with that username." in duplicate.text


def test_reset_password_signs_the_user_out(console: Console) -> None:
    admin, admin_account = signed_in(console, ["admin"])
    user_client, account = signed_in(console, ["agent"])
    url = f"/staff/admin/users/{account.id}/password"
    assert post(admin, url, {"password": "short"}).status_code == 422
    assert post(admin, url, {"password": "temporary-password-1"}).status_code == 303
    assert user_client.get("/staff/").status_code == 303
    assert post_login(console.client(), account.username, account.password).status_code == 422
    account.password = "temporary-password-1"
    sign_in(console.client(), account)
    assert _audited(console, AuditAction.STAFF_PASSWORD_RESET, account.id) == [
        admin_account.username
    ]


def test_deactivate_and_reactivate(console: Console) -> None:
    admin, admin_account = signed_in(console, ["admin"])
    user_client, account = signed_in(console, ["agent"])
    url = f"/staff/admin/users/{account.id}/active"
    assert post(admin, url, {"active": "no"}).status_code == 303
    assert user_client.get("/staff/").status_code == 303
    refused = post_login(console.client(), account.username, account.password)
    assert "This account is not active." in refused.text
    assert post(admin, url, {"active": "yes"}).status_code == 303
    sign_in(console.client(), account)
    assert _audited(console, AuditAction.STAFF_DEACTIVATED, account.id) == [admin_account.username]
    assert _audited(console, AuditAction.STAFF_REACTIVATED, account.id) == [admin_account.username]
    # Nobody deactivates themselves by mistake.
    own = post(admin, f"/staff/admin/users/{admin_account.id}/active", {"active": "no"})
    assert own.status_code == 422


def test_give_and_remove_roles_limited_to_a_department(console: Console) -> None:
    admin, admin_account = signed_in(console, ["admin"])
    _, account = signed_in(console, ["agent"])
    tax = console.department("Property Tax")
    url = f"/staff/admin/users/{account.id}/roles"
    assert post(admin, url, {"role": "", "department": ""}).status_code == 422
    given = post(admin, url, {"role": "cashier", "department": str(tax)})
    assert given.status_code == 303
    detail = admin.get(f"/staff/admin/users/{account.id}")
    assert "Property Tax" in detail.text
    with transaction(console.factory) as db:
        assignment = db.scalars(
            select(RoleAssignment).where(
                RoleAssignment.user_id == account.id, RoleAssignment.department_id == tax
            )
        ).one()
        assignment_id = assignment.id
    removed = post(admin, f"/staff/admin/users/{account.id}/roles/{assignment_id}/remove")
    assert removed.status_code == 303
    assert _audited(console, AuditAction.ROLE_ASSIGNED, account.id) == [admin_account.username]
    assert _audited(console, AuditAction.ROLE_REMOVED, account.id) == [admin_account.username]


def test_remove_an_authenticator(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    _, account = signed_in(console, ["supervisor"])
    assert post(admin, f"/staff/admin/users/{account.id}/mfa/reset").status_code == 303
    with transaction(console.factory) as db:
        user = db.get(StaffUser, account.id)
        assert user is not None and user.mfa_secret is None
    again = post_login(console.client(), account.username, account.password)
    assert again.headers["location"].endswith("/staff/login/setup")


def test_roles_page_lists_permissions(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    page = admin.get("/staff/admin/roles")
    assert page.status_code == 200 and "refunds:approve" in page.text and "auditor" in page.text


def test_unknown_user_is_a_404(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    assert admin.get("/staff/admin/users/999999").status_code == 404


def test_admin_changes_keep_the_chain_valid(console: Console) -> None:
    with transaction(console.factory) as db:
        assert audit.verify(db).ok
