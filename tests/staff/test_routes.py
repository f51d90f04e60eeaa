"""Every staff route declares a permission (or says it is public), and every default role
gets exactly what its permissions allow."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from paydesk.app import create_app
from shared.actors import Actor, ActorType
from shared.auth.access import SIGNED_IN, UserPermissions, can
from shared.db import transaction
from shared.exceptions import cases
from shared.interactions import contacts, sla, support
from shared.models import (
    ContactMethod,
    Customer,
    ExceptionKind,
    HelpTopic,
    Role,
    StaffUser,
    SupportPriority,
)
from shared.models.interactions import InteractionChannel
from shared.payments import corrections
from shared.permissions import DEFAULT_ROLES
from tests import factories
from tests.staff.conftest import Account, Console, csrf, signed_in

# Single sign-on is off unless configured: its pages then answer 404 to everyone.
SSO_PATHS = {"/staff/login/sso", "/staff/login/sso/callback"}
APPROVAL_PATH = "/staff/approvals/{request_id:int}"


def _someone(db: Session) -> tuple[StaffUser, str]:
    """A staff user of nobody's test: the one who asked for the route test's approval."""
    user = StaffUser(username=f"asker-{secrets.token_hex(3)}", display_name="Asker")
    db.add(user)
    db.flush()
    return user, ""


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def staff_routes(console: Console) -> list[tuple[str, Route]]:
    app = create_app(console.runtime)
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/staff")
    return list(_walk(mount.routes, "/staff"))


def test_every_staff_route_declares_a_permission_or_is_public(console: Console) -> None:
    routes = staff_routes(console)
    assert len(routes) > 10
    undeclared = [
        path
        for path, route in routes
        if not getattr(route.endpoint, "required_permission", None)
        and not getattr(route.endpoint, "public_route", False)
    ]
    assert undeclared == []
    public = sorted(p for p, r in routes if getattr(r.endpoint, "public_route", False))
    assert public == [
        "/staff/login",
        "/staff/login/code",
        "/staff/login/setup",
        "/staff/login/sso",
        "/staff/login/sso/callback",
    ]


@pytest.fixture(scope="module")
def records(console: Console) -> dict[str, str]:
    """Real records for every path parameter: a customer who paid, an interaction, a role,
    an exception, a support request."""
    staff = console.user(["agent"])
    with console.factory() as db:
        (bill,) = factories.bills(db, [2_500])
        outcome = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test"))
        customer = db.get(Customer, outcome.payment.customer_id)
        assert customer is not None
        actor = Actor(ActorType.STAFF, staff.username, staff_user_id=staff.id)
        interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
        requester, _password = _someone(db)
        approval = corrections.ask_void(
            db,
            console.runtime.gateway,
            outcome.payment,
            reason_code="error",
            comment="Route test.",
            requester=requester,
            actor=actor,
            key=f"route-test-{customer.id}",
            expires_after=dt.timedelta(days=1),
        )
        case = cases.open_case(
            db,
            actor,
            ExceptionKind.POSSIBLE_DUPLICATE,
            f"route-test/{outcome.payment.transaction_id}",
            payment_id=outcome.payment.id,
            customer_id=customer.id,
        )
        asked = support.open_request(
            db,
            actor,
            channel=InteractionChannel.WEB,
            priority=SupportPriority.NORMAL,
            contact=support.Contact("Route Test", None, "555-0100", "en", ContactMethod.PHONE),
            message="Route test.",
            targets=sla.Targets.from_settings(console.runtime.settings),
            about=support.about(db, "transaction", outcome.payment.transaction_id),
        )
        db.commit()
        role = db.scalars(select(Role).where(Role.name == "agent")).one()
        return {
            "customer_id": str(customer.id),
            "interaction_id": str(interaction.id),
            "transaction_id": outcome.payment.transaction_id,
            "role_id": str(role.id),
            "case_id": str(case.id),
            "request_id": str(approval.id),
            "reference": asked.reference,
            "topic_id": str(db.scalars(select(HelpTopic.id)).first()),
        }


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def concrete(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values[m.group(1)], path)


@pytest.fixture(scope="module")
def by_role(console: Console) -> dict[str, tuple[TestClient, Account]]:
    return {role: signed_in(console, [role]) for role in DEFAULT_ROLES}


@pytest.mark.parametrize("role", sorted(DEFAULT_ROLES))
def test_permission_matrix(
    console: Console,
    by_role: dict[str, tuple[TestClient, Account]],
    records: dict[str, str],
    role: str,
) -> None:
    client, account = by_role[role]
    perms = UserPermissions(DEFAULT_ROLES[role][1])
    checked = []
    for path, route in staff_routes(console):
        if "GET" not in (route.methods or set()):
            continue
        url = concrete(path, {**records, "user_id": str(account.id)})
        response = client.get(url)
        permission = getattr(route.endpoint, "required_permission", None)
        if path in SSO_PATHS:
            assert response.status_code == 404, url
        elif path == APPROVAL_PATH:
            # Object-level: seen by who asked and by who may decide it, like a customer
            # outside one's departments, anyone else meets a 404.
            expected = 200 if can(perms, "voids:approve") else 404
            assert response.status_code == expected, (role, url)
        elif permission is None:  # public: a signed-in user is sent on
            assert response.status_code in {200, 303}, url
        elif can(perms, permission):
            assert response.status_code == 200, (role, url)
        else:
            assert response.status_code == 403, (role, url)
            assert "You cannot do that here" in response.text
        checked.append(url)
    assert "/staff/admin/users" in checked and "/staff/" in checked
    assert {"/staff/account/password", "/staff/admin/roles/new"} <= set(checked)
    assert f"/staff/admin/roles/{records['role_id']}" in checked


def test_signed_in_is_held_by_everyone() -> None:
    assert can(UserPermissions(frozenset()), SIGNED_IN)


def test_a_role_limited_to_a_department(console: Console) -> None:
    tax = console.department("Tax")
    water = console.department("Water")
    client, _ = signed_in(console, ["agent", "admin"], departments={"agent": tax, "admin": water})
    # Signed in, and the home page works; but administration is never department-limited.
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/admin/users").status_code == 403


@pytest.mark.parametrize("role", sorted(DEFAULT_ROLES))
def test_posts_need_the_permission_too(
    console: Console,
    by_role: dict[str, tuple[TestClient, Account]],
    records: dict[str, str],
    role: str,
) -> None:
    """A form posted without the permission is refused before it does anything."""
    client, account = by_role[role]
    perms = UserPermissions(DEFAULT_ROLES[role][1])
    token = csrf(client)
    for path, route in staff_routes(console):
        permission = getattr(route.endpoint, "required_permission", None)
        if "POST" not in (route.methods or set()) or permission is None:
            continue
        if can(perms, permission):
            continue  # allowed: the route's own tests post to it
        url = concrete(path, {**records, "user_id": str(account.id), "assignment_id": "1"})
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 403, (role, url)


def test_a_temporary_password_opens_only_the_page_to_choose_a_new_one(
    console: Console, records: dict[str, str]
) -> None:
    client, account = signed_in(console, ["admin"])
    with transaction(console.factory) as db:
        user = db.get(StaffUser, account.id)
        assert user is not None
        user.must_change_password = True
    for path, route in staff_routes(console):
        public = getattr(route.endpoint, "public_route", False)
        if "GET" not in (route.methods or set()) or public:
            continue
        response = client.get(concrete(path, {**records, "user_id": str(account.id)}))
        if path == "/staff/account/password":
            assert response.status_code == 200
        else:
            assert response.status_code == 303, path
            assert response.headers["location"] == "/staff/account/password", path
