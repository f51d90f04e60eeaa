"""Administration of staff users: every change works without JavaScript and is audited."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from shared import audit
from shared.audit import AuditAction
from shared.db import transaction
from shared.models import AuditEvent, Role, RoleAssignment, StaffUser
from tests.staff.conftest import Console, csrf, post, post_login, sign_in, signed_in
from tests.support.apps import BASE_URL


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
            "roles": ["agent", "auditor"],  # neither needs a second factor
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
    signed = post_login(person, "new.person", "a-long-temporary-pw")
    # The admin typed that password: the new user chooses their own before anything else.
    assert signed.status_code == 303
    assert person.get("/staff/").headers["location"] == "/staff/account/password"
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
    # The temporary password works, but only to choose a new one.
    person = console.client()
    signed = post_login(person, account.username, "temporary-password-1")
    assert signed.headers["location"] == "/staff/account/password"
    assert person.get("/staff/").headers["location"] == "/staff/account/password"
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


def test_a_department_that_is_not_a_number_from_the_list_is_refused(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    _, account = signed_in(console, ["agent"])
    url = f"/staff/admin/users/{account.id}/roles"
    # "²" is a digit to str.isdigit but not to int; the other is past any BIGINT.
    for department in ("\u00b2", "9" * 23, "-1"):
        refused = post(admin, url, {"role": "agent", "department": department})
        assert refused.status_code == 422, department
        assert "Choose a department from the list." in refused.text, department


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


# -- roles -------------------------------------------------------------------------------


def _role_id(console: Console, name: str) -> int:
    with transaction(console.factory) as db:
        return db.scalars(select(Role.id).where(Role.name == name)).one()


def _codes(console: Console, name: str) -> set[str]:
    with transaction(console.factory) as db:
        role = db.scalars(select(Role).where(Role.name == name)).one()
        return {p.code for p in role.permissions}


def _role_events(console: Console, action: AuditAction, role_id: int) -> list[dict[str, object]]:
    with transaction(console.factory) as db:
        found = db.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == action,
                AuditEvent.object_type == "role",
                AuditEvent.object_id == str(role_id),
            )
        )
        return list(found)


def _save_role(admin: TestClient, url: str, data: dict[str, str | list[str]]) -> httpx.Response:
    return admin.post(url, data={**data, "csrf_token": csrf(admin)})


def test_create_a_role_and_change_its_permissions(console: Console) -> None:
    admin, admin_account = signed_in(console, ["admin"])
    roles = admin.get("/staff/admin/roles")
    assert "Create a role" in roles.text and "Change the permissions of agent" in roles.text
    form = admin.get("/staff/admin/roles/new")
    assert form.status_code == 200
    # Grouped, each permission described, each checkbox labelled.
    assert "Refunds, voids and adjustments" in form.text and "Approve a refund" in form.text
    assert 'for="permission-refunds-approve"' in form.text

    created = _save_role(
        admin,
        "/staff/admin/roles/new",
        {
            "name": "Water.Clerk",
            "description": "Looks up water accounts",
            "permissions": ["customers:view", "payments:view"],
        },
    )
    assert created.status_code == 303
    assert "Role water.clerk created." in admin.get("/staff/admin/roles").text
    role_id = _role_id(console, "water.clerk")
    assert _role_events(console, AuditAction.ROLE_CREATED, role_id) == [
        {
            "name": "water.clerk",
            "description": "Looks up water accounts",
            "permissions": ["customers:view", "payments:view"],
        }
    ]

    # Someone with the role can search; once the permission is taken away, they cannot.
    clerk, _ = signed_in(console, ["water.clerk"])
    assert clerk.get("/staff/search").status_code == 200
    url = f"/staff/admin/roles/{role_id}"
    page = admin.get(url)
    assert 'value="customers:view" checked' in page.text
    saved = _save_role(admin, url, {"permissions": ["payments:view", "notes:write"]})
    assert saved.status_code == 303
    assert "Role water.clerk saved." in admin.get(url).text
    assert _codes(console, "water.clerk") == {"payments:view", "notes:write"}
    assert clerk.get("/staff/search").status_code == 403
    (changed,) = _role_events(console, AuditAction.ROLE_PERMISSIONS_CHANGED, role_id)
    assert changed == {
        "role": "water.clerk",
        "before": ["customers:view", "payments:view"],
        "after": ["notes:write", "payments:view"],
        "added": ["notes:write"],
        "removed": ["customers:view"],
    }
    assert _audited(console, AuditAction.ROLE_PERMISSIONS_CHANGED, role_id) == [
        admin_account.username
    ]


def test_a_new_role_needs_a_name_a_description_and_permissions(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    empty = _save_role(admin, "/staff/admin/roles/new", {"name": "", "description": ""})
    assert empty.status_code == 422
    for message in (
        "Enter a name for the role.",
        "Say what the role is for.",
        "Choose at least one permission.",
    ):
        assert message in empty.text
    assert 'href="#role-permissions"' in empty.text
    assert 'aria-describedby="role-permissions-hint role-permissions-error"' in empty.text
    taken = _save_role(
        admin,
        "/staff/admin/roles/new",
        {"name": "agent", "description": "x", "permissions": ["no:such"]},
    )
    assert "There is already a role with that name." in taken.text
    assert "Choose permissions from the list." in taken.text
    bad = _save_role(
        admin,
        "/staff/admin/roles/new",
        {"name": "has space", "description": "x", "permissions": ["notes:write"]},
    )
    assert bad.status_code == 422 and "lowercase letters, digits" in bad.text


def test_a_change_that_would_lock_everyone_out_is_refused(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    role_id = _role_id(console, "admin")
    before = _codes(console, "admin")
    url = f"/staff/admin/roles/{role_id}"
    refused = _save_role(admin, url, {"permissions": sorted(before - {"admin:roles"})})
    assert refused.status_code == 422
    assert "nobody active would be left holding admin:roles" in refused.text
    # The form shows what was asked for, so nothing is silently lost; nothing was saved.
    assert 'value="admin:roles" checked' not in refused.text
    assert _codes(console, "admin") == before
    assert _role_events(console, AuditAction.ROLE_PERMISSIONS_CHANGED, role_id) == []
    assert admin.get("/staff/admin/roles").status_code == 200


def test_roles_need_admin_roles(console: Console) -> None:
    supervisor, _ = signed_in(console, ["supervisor"])
    role_id = _role_id(console, "agent")
    for url in ("/staff/admin/roles/new", f"/staff/admin/roles/{role_id}"):
        assert supervisor.get(url).status_code == 403
        assert post(supervisor, url, {"permissions": "admin:roles"}).status_code == 403
    assert "admin:roles" not in _codes(console, "agent")


def test_unknown_role_is_a_404(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    assert admin.get("/staff/admin/roles/999999").status_code == 404


# -- access is given only by those who hold it (issue 15) -------------------------------

USER_MANAGER = {"admin:users", "customers:view"}


@pytest.mark.parametrize(
    ("codes", "department", "needs_code"),
    [
        ({"admin:users"}, False, True),
        ({"customers:view", "refunds:approve"}, False, True),
        ({"customers:view", "payments:take"}, True, True),
        ({"customers:view", "notes:write", "refunds:request"}, False, False),
    ],
    ids=["admin:users", "an approval", "payments:take in one department", "service only"],
)
def test_a_second_factor_follows_permissions_custom_roles_too(
    console: Console, codes: set[str], department: bool, needs_code: bool
) -> None:
    role = console.role(codes)
    departments = {role: console.department("Tax")} if department else None
    account = console.user([role], departments=departments)
    answer = post_login(console.client(), account.username, account.password)
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/staff/login/setup") is needs_code


def test_a_user_manager_cannot_make_anyone_an_administrator(console: Console) -> None:
    role = console.role(USER_MANAGER)
    manager, _ = signed_in(console, [role])
    made = post(
        manager,
        "/staff/admin/users/new",
        {
            "username": "made.admin",
            "display_name": "Made Admin",
            "roles": "admin",
            "password": "a-long-temporary-pw",
        },
    )
    assert made.status_code == 422
    assert "Not allowed: that needs" in made.text and "admin:roles" in made.text
    with console.factory() as db:
        assert (
            db.scalars(select(StaffUser).where(StaffUser.username == "made.admin")).first() is None
        )
    agent = console.user(["agent"])
    given = post(manager, f"/staff/admin/users/{agent.id}/roles", {"role": "admin"})
    assert given.status_code == 422
    assert "Not allowed: that needs" in given.text
    assert _roles_of(console, agent.id) == {"agent"}
    # A role holding nothing they lack they may give, to someone holding nothing more.
    helper = console.user([console.role({"customers:view"})])
    assert post(manager, f"/staff/admin/users/{helper.id}/roles", {"role": role}).status_code == 303


def test_a_user_manager_cannot_take_over_an_administrator(console: Console) -> None:
    _, real_admin = signed_in(console, ["admin"])
    with console.factory() as db:
        before = db.get(StaffUser, real_admin.id)
        assert before is not None
        hashed, secret = before.password_hash, before.mfa_secret
    manager, _ = signed_in(console, [console.role(USER_MANAGER)])
    url = f"/staff/admin/users/{real_admin.id}"
    reset = post(manager, f"{url}/password", {"password": "taken-over-password"})
    assert reset.status_code == 422
    assert f"{real_admin.username} holds" in reset.text
    assert post(manager, f"{url}/mfa/reset").status_code == 422
    assert post(manager, f"{url}/active", {"active": "no"}).status_code == 422
    with console.factory() as db:
        after = db.get(StaffUser, real_admin.id)
        assert after is not None
        assert (after.password_hash, after.mfa_secret, after.active) == (hashed, secret, True)
    # The administrator still signs in with their own password.
    sign_in(console.client("10.0.0.77"), real_admin)


def test_resetting_someone_needs_a_sign_in_with_a_code(console: Console) -> None:
    """Even for an administrator whose permissions need no code in this deployment."""
    relaxed = replace(
        console.runtime, settings=console.runtime.settings.with_(mfa_required_permissions=())
    )
    browser = TestClient(asgi(create_app(relaxed)), base_url=BASE_URL, follow_redirects=False)
    admin = console.user(["admin"])
    assert post_login(browser, admin.username, admin.password).headers["location"] == "/staff/"
    agent = console.user(["agent"], mfa=True)
    url = f"/staff/admin/users/{agent.id}"
    refused = post(browser, f"{url}/password", {"password": "a-new-temporary-pw"})
    assert refused.status_code == 422
    assert "needs a sign-in with your own authenticator code" in refused.text
    assert post(browser, f"{url}/mfa/reset").status_code == 422
    # Signed in with the code, the same administrator may.
    with_code = console.client()
    sign_in(with_code, console.user(["admin"], mfa=True))
    assert post(with_code, f"{url}/password", {"password": "a-new-temporary-pw"}).status_code == 303


def test_a_role_manager_cannot_define_roles_beyond_their_own(console: Console) -> None:
    manager, _ = signed_in(console, [console.role({"admin:roles", "customers:view"})])
    wide = post(
        manager,
        "/staff/admin/roles/new",
        {"name": "wide", "description": "Too much", "permissions": "admin:users"},
    )
    assert wide.status_code == 422 and "Not allowed: that needs admin:users" in wide.text
    narrow = post(
        manager,
        "/staff/admin/roles/new",
        {"name": "viewers", "description": "Read only", "permissions": "customers:view"},
    )
    assert narrow.status_code == 303
    with console.factory() as db:
        admin_role = db.scalars(select(Role).where(Role.name == "admin")).one()
        viewers = db.scalars(select(Role).where(Role.name == "viewers")).one()
        admin_id, viewers_id = admin_role.id, viewers.id
    # The admin role holds what they lack: not theirs to change, even to take from it.
    edit = manager.post(
        f"/staff/admin/roles/{admin_id}",
        data={"permissions": ["customers:view"], "csrf_token": csrf(manager)},
    )
    assert edit.status_code == 422
    grow = manager.post(
        f"/staff/admin/roles/{viewers_id}",
        data={"permissions": ["customers:view", "payments:take"], "csrf_token": csrf(manager)},
    )
    assert grow.status_code == 422 and "payments:take" in grow.text
    with console.factory() as db:
        assert len(db.get(Role, admin_id).permissions) > 1  # type: ignore[union-attr]


def test_access_grown_while_signed_in_asks_for_the_code(console: Console) -> None:
    agent_client, agent = signed_in(console, ["agent"])
    admin, _ = signed_in(console, ["admin"])
    assert (
        post(admin, f"/staff/admin/users/{agent.id}/roles", {"role": "supervisor"}).status_code
        == 303
    )
    again = agent_client.get("/staff/")
    assert again.status_code == 303
    assert "again=mfa" in again.headers["location"]
    page = agent_client.get(again.headers["location"])
    assert "now needs the code from an authenticator app" in page.text
    # Signed out: the old session opens nothing any more.
    assert agent_client.get("/staff/").headers["location"].startswith("/staff/login")


def _roles_of(console: Console, user_id: int) -> set[str]:
    with console.factory() as db:
        return set(
            db.scalars(
                select(Role.name).join(RoleAssignment).where(RoleAssignment.user_id == user_id)
            )
        )


@pytest.mark.parametrize("field", ["username", "display_name", "email"])
def test_a_card_number_in_a_new_user_is_refused(console: Console, field: str) -> None:
    admin, _ = signed_in(console, ["admin"])
    values = {
        "username": f"card-{field.replace('_', '-')}",
        "display_name": "Card Tester",
        "email": "card@example.org",
        "roles": "agent",
        "password": "a-long-temporary-pw",
    }
    values[field] = "4111111111111111" + ("@example.org" if field == "email" else "")
    refused = post(admin, "/staff/admin/users/new", values)
    assert refused.status_code == 422
    assert "This looks like a card number." in refused.text
    assert "4111111111111111" not in refused.text
