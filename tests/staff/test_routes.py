"""Every staff route declares a permission (or says it is public), the one reviewed, and
every role, default or made in the console, gets exactly what its permissions allow."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from paydesk.app import create_app
from shared import integration_clients
from shared.actors import Actor, ActorType
from shared.auth.access import SIGNED_IN, UserPermissions, can
from shared.db import transaction
from shared.exceptions import cases
from shared.finance import deposits, drawers, journal
from shared.interactions import contacts, sla, support
from shared.messaging import webhooks
from shared.messaging.mailer import FileMailer
from shared.models import (
    ContactMethod,
    Customer,
    ExceptionKind,
    HelpTopic,
    Role,
    RoleAssignment,
    StaffUser,
    SupportPriority,
    WebhookDelivery,
)
from shared.models.interactions import InteractionChannel
from shared.payments import corrections
from shared.permissions import DEFAULT_ROLES
from shared.reconciliation import book as reconciliation
from shared.terminals import registry
from shared.web.endpoint import page
from tests import factories
from tests.shared.reconciliation.samples import CAMT053
from tests.staff.conftest import Console, csrf, signed_in

# Single sign-on is off unless configured: its pages then answer 404 to everyone.
SSO_PATHS = {"/staff/login/sso", "/staff/login/sso/callback"}


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


def undeclared(routes: list[tuple[str, Route]]) -> list[str]:
    """The paths whose view neither requires a permission nor is marked public."""
    return [
        path
        for path, route in routes
        if not getattr(route.endpoint, "required_permission", None)
        and not getattr(route.endpoint, "public_route", False)
    ]


def test_a_route_added_without_a_permission_is_caught() -> None:
    """What the two tests here do with a view someone forgot to guard."""

    @page
    def forgotten(request: Request, db: Session) -> Response:
        return Response("the list of every payment")

    added = [("/staff/forgotten", Route("/forgotten", forgotten))]
    assert undeclared(added) == ["/staff/forgotten"]
    assert ("GET", "/staff/forgotten") not in REVIEWED


def test_every_staff_route_declares_a_permission_or_is_public(console: Console) -> None:
    routes = staff_routes(console)
    assert len(routes) > 10
    assert undeclared(routes) == []
    public = sorted(p for p, r in routes if getattr(r.endpoint, "public_route", False))
    assert public == [
        "/staff/login",
        "/staff/login/code",
        "/staff/login/setup",
        "/staff/login/sso",
        "/staff/login/sso/callback",
    ]


# The reviewed contract: every staff route, and what it needs. A new route fails
# `test_every_route_needs_what_was_reviewed` until it is added here, with its permission.
PUBLIC = "public"
REVIEWED: dict[tuple[str, str], str] = {
    ("GET", "/staff/"): SIGNED_IN,
    ("GET", "/staff/login"): PUBLIC,
    ("POST", "/staff/login"): PUBLIC,
    ("GET", "/staff/login/code"): PUBLIC,
    ("POST", "/staff/login/code"): PUBLIC,
    ("GET", "/staff/login/setup"): PUBLIC,
    ("POST", "/staff/login/setup"): PUBLIC,
    ("GET", "/staff/login/sso"): PUBLIC,
    ("GET", "/staff/login/sso/callback"): PUBLIC,
    ("POST", "/staff/logout"): SIGNED_IN,
    ("POST", "/staff/logout/everywhere"): SIGNED_IN,
    ("GET", "/staff/account/mfa"): SIGNED_IN,
    ("POST", "/staff/account/mfa"): SIGNED_IN,
    ("GET", "/staff/account/password"): SIGNED_IN,
    ("POST", "/staff/account/password"): SIGNED_IN,
    ("GET", "/staff/admin/users"): "admin:users",
    ("GET", "/staff/admin/users/new"): "admin:users",
    ("POST", "/staff/admin/users/new"): "admin:users",
    ("GET", "/staff/admin/users/{user_id:int}"): "admin:users",
    ("POST", "/staff/admin/users/{user_id:int}/password"): "admin:users",
    ("POST", "/staff/admin/users/{user_id:int}/unlock"): "admin:users",
    ("POST", "/staff/admin/users/{user_id:int}/mfa/reset"): "admin:users",
    ("POST", "/staff/admin/users/{user_id:int}/active"): "admin:users",
    ("POST", "/staff/admin/users/{user_id:int}/roles"): "admin:users",
    ("POST", "/staff/admin/users/{user_id:int}/roles/{assignment_id:int}/remove"): "admin:users",
    ("GET", "/staff/admin/roles"): "admin:roles",
    ("GET", "/staff/admin/roles/new"): "admin:roles",
    ("POST", "/staff/admin/roles/new"): "admin:roles",
    ("GET", "/staff/admin/roles/{role_id:int}"): "admin:roles",
    ("POST", "/staff/admin/roles/{role_id:int}"): "admin:roles",
    ("GET", "/staff/search"): "customers:view",
    ("GET", "/staff/search.csv"): "payments:view",
    ("GET", "/staff/customers/{customer_id:int}"): "customers:view",
    ("POST", "/staff/customers/{customer_id:int}/balances/refresh"): "balances:refresh",
    ("GET", "/staff/payments/{transaction_id}"): "payments:view",
    ("GET", "/staff/payments/{transaction_id}/receipt.pdf"): "payments:view",
    ("POST", "/staff/payments/{transaction_id}/resend"): "receipts:resend",
    ("GET", "/staff/customers/{customer_id:int}/pay"): "payments:take",
    ("POST", "/staff/customers/{customer_id:int}/pay"): "payments:take",
    ("GET", "/staff/counter/return"): "payments:take",
    ("POST", "/staff/customers/{customer_id:int}/interactions"): "notes:write",
    ("GET", "/staff/customers/{customer_id:int}/interactions"): "customers:view",
    ("GET", "/staff/interactions/new"): "notes:write",
    ("POST", "/staff/interactions/new"): "notes:write",
    ("GET", "/staff/interactions/{interaction_id:int}"): "customers:view",
    ("POST", "/staff/interactions/{interaction_id:int}/notes"): "notes:write",
    ("POST", "/staff/interactions/{interaction_id:int}/customer"): "notes:write",
    ("POST", "/staff/interactions/{interaction_id:int}/links"): "notes:write",
    ("POST", "/staff/interactions/{interaction_id:int}/outcome"): "notes:write",
    ("POST", "/staff/interactions/{interaction_id:int}/follow-up"): "notes:write",
    ("POST", "/staff/interactions/{interaction_id:int}/follow-up/done"): "notes:write",
    ("POST", "/staff/interactions/{interaction_id:int}/end"): "notes:write",
    ("GET", "/staff/exceptions"): "exceptions:work",
    ("GET", "/staff/exceptions/{case_id:int}"): "exceptions:work",
    ("POST", "/staff/exceptions/{case_id:int}/assign"): "exceptions:work",
    ("POST", "/staff/exceptions/{case_id:int}/resolve"): "exceptions:work",
    ("GET", "/staff/approvals"): SIGNED_IN,
    ("GET", "/staff/approvals/{request_id:int}"): SIGNED_IN,
    ("POST", "/staff/approvals/{request_id:int}/decide"): SIGNED_IN,
    ("POST", "/staff/payments/{transaction_id}/refund"): "refunds:request",
    ("POST", "/staff/payments/{transaction_id}/void"): "voids:request",
    ("POST", "/staff/payments/{transaction_id}/reversal"): "reversals:request",
    ("GET", "/staff/customers/{customer_id:int}/adjust"): "adjustments:request",
    ("POST", "/staff/customers/{customer_id:int}/adjust"): "adjustments:request",
    ("POST", "/staff/customers/{customer_id:int}/override"): "overrides:request",
    ("GET", "/staff/audit"): "audit:view",
    ("GET", "/staff/audit/verify"): "audit:view",
    ("GET", "/staff/audit.csv"): "audit:view",
    ("GET", "/staff/customers/{customer_id:int}/audit"): "audit:view",
    ("GET", "/staff/demo-mail"): SIGNED_IN,
    ("GET", "/staff/demo-mail/{name}"): SIGNED_IN,
    ("GET", "/staff/demo-mail/{name}/attachments/{index:int}"): SIGNED_IN,
    ("GET", "/staff/admin/catalog"): "admin:settings",
    ("POST", "/staff/admin/catalog/departments/{department_id:int}"): "admin:settings",
    ("GET", "/staff/terminals"): "terminals:view",
    ("GET", "/staff/terminals/{terminal_id:int}"): "terminals:view",
    ("GET", "/staff/admin/terminals/new"): "admin:terminals",
    ("POST", "/staff/admin/terminals/new"): "admin:terminals",
    ("POST", "/staff/admin/terminals/{terminal_id:int}/code"): "admin:terminals",
    ("POST", "/staff/admin/terminals/{terminal_id:int}/service"): "admin:terminals",
    ("POST", "/staff/admin/terminals/{terminal_id:int}/revoke"): "admin:terminals",
    ("GET", "/staff/admin/help"): "admin:settings",
    ("GET", "/staff/admin/help/{topic_id:int}"): "admin:settings",
    ("POST", "/staff/admin/help/{topic_id:int}"): "admin:settings",
    ("GET", "/staff/admin/integrations"): "admin:integrations",
    ("GET", "/staff/admin/integrations/clients"): "admin:integrations",
    ("POST", "/staff/admin/integrations/clients"): "admin:integrations",
    ("POST", "/staff/admin/integrations/clients/{client_id:int}/revoke"): "admin:integrations",
    ("GET", "/staff/admin/integrations/sources/{system}"): "admin:integrations",
    ("POST", "/staff/admin/integrations/sources/{system}"): "admin:integrations",
    ("POST", "/staff/admin/integrations/sandbox/{system}"): "admin:integrations",
    ("GET", "/staff/admin/webhooks"): "admin:integrations",
    ("POST", "/staff/admin/webhooks"): "admin:integrations",
    ("GET", "/staff/admin/webhooks/{subscription_id:int}"): "admin:integrations",
    ("POST", "/staff/admin/webhooks/{subscription_id:int}"): "admin:integrations",
    ("POST", "/staff/admin/webhooks/{subscription_id:int}/rotate"): "admin:integrations",
    (
        "POST",
        "/staff/admin/webhooks/{subscription_id:int}/deliveries/{delivery_id:int}/again",
    ): "admin:integrations",
    ("POST", "/staff/admin/webhooks/{subscription_id:int}/again"): "admin:integrations",
    ("GET", "/staff/support"): "tickets:work",
    ("GET", "/staff/support/{reference}"): "tickets:work",
    ("POST", "/staff/support/{reference}/assign"): "tickets:work",
    ("POST", "/staff/support/{reference}/status"): "tickets:work",
    ("POST", "/staff/support/{reference}/priority"): "tickets:work",
    ("POST", "/staff/support/{reference}/reply"): "tickets:work",
    ("POST", "/staff/support/{reference}/receipt"): "receipts:resend",
    ("POST", "/staff/support/{reference}/note"): "notes:write",
    ("POST", "/staff/support/{reference}/link"): "notes:write",
    ("POST", "/staff/support/{reference}/customer"): "notes:write",
    ("POST", "/staff/support/{reference}/resolve"): "tickets:work",
    ("GET", "/staff/reports"): "reports:view",
    ("GET", "/staff/reports.csv"): "reports:view",
    ("GET", "/staff/finance/drawer"): "drawers:operate",
    ("POST", "/staff/finance/drawer/open"): "drawers:operate",
    ("POST", "/staff/finance/drawers/{drawer_id:int}/count"): "drawers:operate",
    ("GET", "/staff/finance/drawers/{drawer_id:int}"): "reports:view",
    ("GET", "/staff/finance/deposits"): "deposits:prepare",
    ("POST", "/staff/finance/deposits"): "deposits:prepare",
    ("GET", "/staff/finance/deposits/{deposit_id:int}"): "reports:view",
    ("GET", "/staff/finance/deposits/{deposit_id:int}/slip.pdf"): "reports:view",
    ("GET", "/staff/finance/reconciliation"): "reconciliation:work",
    ("POST", "/staff/finance/reconciliation/import"): "reconciliation:work",
    ("POST", "/staff/finance/reconciliation/match"): "reconciliation:work",
    ("GET", "/staff/finance/statements/{statement_id:int}"): "reports:view",
    ("GET", "/staff/finance/journal"): "reports:view",
    ("POST", "/staff/finance/journal/export"): "exports:gl",
    ("GET", "/staff/finance/journal/entries/{entry_id:int}"): "reports:view",
    ("GET", "/staff/finance/exports/{export_id:int}"): "exports:gl",
    ("GET", "/staff/finance/exports/{export_id:int}/journal.csv"): "exports:gl",
    ("GET", "/staff/finance/exports/{export_id:int}/journal.txt"): "exports:gl",
}
# Object-level: an approval request is seen by who asked for it and by who may decide it;
# to anyone else it is as unknown as a wrong number (the records' request is a void).
DECIDERS_ONLY = {"/staff/approvals/{request_id:int}", "/staff/approvals/{request_id:int}/decide"}

# Roles made in the console, beside the default ones: a help desk that manages users but
# takes no payments, and a role that only reads payments.
CUSTOM_ROLES: dict[str, frozenset[str]] = {
    "matrix-helpdesk": frozenset({"customers:view", "notes:write", "admin:users"}),
    "matrix-payments-reader": frozenset({"payments:view"}),
}
ROLES: dict[str, frozenset[str]] = {
    **{name: codes for name, (_, codes) in DEFAULT_ROLES.items()},
    **CUSTOM_ROLES,
}
# Signing out comes last, each in a session of its own: it ends the session it is in.
LAST = ("/staff/logout", "/staff/logout/everywhere")


def _declared(route: Route) -> str | None:
    if getattr(route.endpoint, "public_route", False):
        return PUBLIC
    return getattr(route.endpoint, "required_permission", None)


def test_every_route_needs_what_was_reviewed(console: Console) -> None:
    declared = {
        (method, path): _declared(route)
        for path, route in staff_routes(console)
        for method in route.methods or set()
        if method != "HEAD"
    }
    assert declared == REVIEWED


@pytest.fixture(scope="module")
def records(console: Console) -> dict[str, str]:
    """Real records for every path parameter: a customer who paid, an interaction, a role
    to change, and a staff member to manage (none of them the signed-in user's own), an
    exception, a request for approval the colleague made, a support request, a help topic."""
    staff = console.user(["agent"])
    colleague = console.user(["agent"])
    scratch = console.role({"customers:view"}, "matrix-scratch")
    for name, codes in CUSTOM_ROLES.items():
        console.role(set(codes), name)
    with console.factory() as db:
        (bill,) = factories.bills(db, [2_500])
        department_id = bill.account.department_id
        outcome = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test"))
        # Its bills come from another system: the connected systems' pages name it.
        bill.account.source_system = "utility-billing"
        customer = db.get(Customer, outcome.payment.customer_id)
        assert customer is not None
        actor = Actor(ActorType.STAFF, staff.username, staff_user_id=staff.id)
        interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
        asker = db.get(StaffUser, colleague.id)
        assert asker is not None
        approval = corrections.ask_void(
            db,
            console.runtime.gateway,
            outcome.payment,
            reason_code="error",
            comment="Route matrix.",
            requester=asker,
            actor=actor,
            key=f"route-matrix-{customer.id}",
            expires_after=dt.timedelta(days=1),
        )
        case = cases.open_case(
            db,
            actor,
            ExceptionKind.POSSIBLE_DUPLICATE,
            f"route-matrix/{outcome.payment.transaction_id}",
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
        # A drawer counted and deposited, the journal written, and a day exported.
        drawer = drawers.open_drawer(
            db, asker, actor, float_amount=1_000, currency="CAD", key=f"route-{customer.id}"
        )
        drawers.count(
            db,
            drawer.id,
            asker,
            actor,
            counts={"note-1000": 1},
            cheques=0,
            tolerance=0,
            key=f"route-count-{customer.id}",
        )
        deposit = deposits.prepare(
            db,
            asker,
            actor,
            drawer_ids=[drawer.id],
            bag_number=f"ROUTE-{customer.id}",
            currency="CAD",
            timezone="America/Toronto",
            key=f"route-bag-{customer.id}",
        )
        accounts = journal.Accounts.of(console.runtime.settings)
        entry = journal.post_pending(db, accounts, actor)[0]
        exported = journal.export(
            db, accounts, asker, actor, dt.date(2001, 1, 1), dt.date(2001, 1, 1)
        )
        hook = webhooks.subscribe(
            db, actor, ("CRM", "crm@example.org", "http://127.0.0.1:9/", ["exception.opened"])
        )
        cases.open_case(db, actor, ExceptionKind.POSSIBLE_DUPLICATE, f"route-matrix-hook/{hook.id}")
        statement = reconciliation.import_file(db, CAMT053.encode(), "route.xml", None, actor)
        db.commit()
        delivery_id = db.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == hook.id)
        ).one()
        reference = asked.reference
        topic_id = db.scalars(select(HelpTopic.id)).first()
        kiosk = registry.register(
            db, actor, code=factories.unique("KIOSK"), location="Route matrix lobby"
        ).terminal
        system_client = integration_clients.register(
            db, actor, name="Route matrix system", scopes=["balances:write"]
        ).client
        db.commit()
        terminal_id = kiosk.id
        client_key = system_client.id
        role = db.scalars(select(Role).where(Role.name == scratch)).one()
        assignment = db.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == colleague.id)
        ).one()
    # A message in the demo mail folder, with an attachment to open.
    mail = EmailMessage()
    mail["Subject"] = "Receipt"
    mail.set_content("Thanks.")
    mail.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="r.pdf")
    folder = console.runtime.settings.var_dir / "mail"
    FileMailer(folder).send(mail)
    return {
        "name": sorted(p.name for p in folder.glob("*.eml"))[0],
        "department_id": str(department_id),
        "index": "0",
        "customer_id": str(customer.id),
        "interaction_id": str(interaction.id),
        "transaction_id": outcome.payment.transaction_id,
        "role_id": str(role.id),
        "user_id": str(colleague.id),
        "assignment_id": str(assignment.id),
        "case_id": str(case.id),
        "request_id": str(approval.id),
        "reference": reference,
        "topic_id": str(topic_id),
        "terminal_id": str(terminal_id),
        "drawer_id": str(drawer.id),
        "deposit_id": str(deposit.id),
        "entry_id": str(entry.id),
        "export_id": str(exported.id),
        "system": "utility-billing",
        "subscription_id": str(hook.id),
        "delivery_id": str(delivery_id),
        "statement_id": str(statement.statements[0].id),
        "client_id": str(client_key),
    }


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def concrete(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values[m.group(1)], path)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_route_by_role_matrix(console: Console, records: dict[str, str], role: str) -> None:
    """Every staff route, read and posted, for every role (custom ones too): allowed where
    the role's permissions allow it, a 403 everywhere else, never a server error."""
    client, _ = signed_in(console, [role])
    perms = UserPermissions(ROLES[role])
    token = csrf(client)
    routes = sorted(
        ((method, path) for method, path in REVIEWED),
        key=lambda item: (item[1] in LAST, item[0], item[1]),
    )
    checked = []
    for method, path in routes:
        needed = REVIEWED[(method, path)]
        url = concrete(path, records)
        if path in LAST:  # each ends the session: one of its own
            client, _ = signed_in(console, [role])
            token = csrf(client)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        assert response.status_code < 500, (role, method, url)
        if path in SSO_PATHS:
            assert response.status_code == 404, url
        elif path in DECIDERS_ONLY and not can(perms, "voids:approve"):
            assert response.status_code == 404, (role, method, url)
        elif needed == PUBLIC:  # a signed-in user is sent on, or asked again
            assert response.status_code in {200, 303, 422}, (role, method, url)
        elif can(perms, needed):
            allowed = {200} if method == "GET" else {200, 303, 404, 409, 422}
            assert response.status_code in allowed, (role, method, url, response.status_code)
        else:
            assert response.status_code == 403, (role, method, url)
            assert "You cannot do that here" in response.text
        checked.append((method, path))
    assert set(checked) == set(REVIEWED)


def test_signed_in_is_held_by_everyone() -> None:
    assert can(UserPermissions(frozenset()), SIGNED_IN)


def test_a_role_limited_to_a_department(console: Console) -> None:
    tax = console.department("Tax")
    water = console.department("Water")
    client, _ = signed_in(console, ["agent", "admin"], departments={"agent": tax, "admin": water})
    # Signed in, and the home page works; but administration is never department-limited.
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/admin/users").status_code == 403


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
