"""Every staff route declares what it needs, next to its view.

    @page
    @requires("admin:users")
    def users(request, db): ...

`requires` records the permission on the view (`required_permission`; `page` copies it
to the endpoint) so a test can list every route and what it needs. Not signed in: a 303
to the sign-in page, which comes back here afterwards. Signed in without the permission:
a 403 page. `public` marks the few pages anyone may open (sign-in, the code steps).

After an administrator resets someone's password, they reach only the views marked
`with_temporary_password` (choosing a new password, signing out) until they choose one.

The session keeps how its sign-in was proven (`FACTORS`). Someone whose permissions now
need a second factor (`Settings.mfa_required_permissions`) and whose sign-in did not
give one, because their access grew while they were signed in, is signed out and sent to
sign in again, with the code this time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.actors import Actor
from shared.auth import access, account, mfa
from shared.auth.access import SIGNED_IN, UserPermissions
from shared.auth.login import staff_actor
from shared.customers.visibility import Visible
from shared.models import SessionKind, StaffUser
from shared.web.csrf import SAFE_METHODS
from shared.web.endpoint import View
from shared.web.sessions import session_of
from staff.templating import render
from staff.web import client_address, settings_of

__all__ = [
    "FACTORS",
    "SIGNED_IN",
    "StaffContext",
    "public",
    "requires",
    "second_factor_given",
    "signed_in_user",
]

# How this session's sign-in was proven: ["password"], ["password", "totp"], ["sso"] or
# ["sso", "mfa"] (the IdP showed a multi-factor sign-in).
FACTORS = "staff_factors"
SECOND_FACTORS = frozenset({"totp", "mfa"})


@dataclass(frozen=True)
class StaffContext:
    """The signed-in staff member of a request (`request.state.staff`)."""

    user: StaffUser
    permissions: UserPermissions
    actor: Actor
    second_factor: bool = False

    def can(self, permission: str, department_id: int | None = None) -> bool:
        return access.can(self.permissions, permission, department_id)

    def visible(self) -> Visible:
        """What this member of staff may find: a record outside it is as unknown as a
        wrong number."""
        return Visible(
            customers=self.permissions.departments_for("customers:view"),
            payments=self.permissions.departments_for("payments:view"),
        )


def signed_in_user(request: Request, db: Session) -> StaffUser | None:
    """The staff user this session is signed in as, if it fully is (password and code)."""
    found = _signed_in(request, db)
    return found[0] if found else None


def _signed_in(request: Request, db: Session) -> tuple[StaffUser, UserPermissions] | None:
    session = session_of(request)
    if session.kind != SessionKind.STAFF or session.staff_user_id is None:
        return None
    found = session.principal
    reuse = (
        request.method in SAFE_METHODS
        and found is not None
        and found[0].id == session.staff_user_id
    )
    if not reuse:
        # A write reads the user again in its own transaction, so what it changes is current.
        found = access.user_with_permissions(db, session.staff_user_id)
    if found is None or not found[0].active:
        session.clear()
        return None
    user, permissions = found
    # A read uses the user read with the session, attached to the view's without a query.
    return (db.merge(user, load=False) if reuse else user), permissions


def second_factor_given(request: Request) -> bool:
    """Whether this session's sign-in included a second factor."""
    factors = request.session.get(FACTORS)
    return isinstance(factors, list) and not SECOND_FACTORS.isdisjoint(factors)


def _second_factor_due(request: Request, permissions: UserPermissions) -> bool:
    needed = settings_of(request).mfa_required_permissions
    return mfa.required(permissions.held(), needed) and not second_factor_given(request)


def _to_sign_in(request: Request, **extra: str) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urlencode({"next": target, **extra})
    return _redirect(request, f"{request.url_for('staff:login').path}?{query}")


def _redirect(request: Request, location: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if request.headers.get("HX-Request") == "true":
        # htmx would swap the whole page into a fragment; have it load the page instead.
        headers["HX-Redirect"] = location
    return RedirectResponse(location, status_code=303, headers=headers)


def requires(permission: str, *, with_temporary_password: bool = False) -> Callable[[View], View]:
    """Only staff holding `permission` (in any department) may use the view."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: Request, db: Session) -> Response:
            found = _signed_in(request, db)
            if found is None:
                return _to_sign_in(request)
            user, perms = found
            if _second_factor_due(request, perms):
                session_of(request).clear()
                return _to_sign_in(request, again="mfa")
            if account.password_change_due(user) and not with_temporary_password:
                return _redirect(request, request.url_for("staff:account_password").path)
            staff = StaffContext(
                user,
                perms,
                staff_actor(user, client_address(request)),
                second_factor=second_factor_given(request),
            )
            request.state.staff = staff
            if not staff.can(permission):
                return render(request, "staff/forbidden.html", {}, status_code=403)
            return view(request, db)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return guarded

    return decorate


def public(view: View) -> View:
    """Open to anyone: the sign-in steps. Said out loud so the route test can tell."""
    view.public_route = True  # type: ignore[attr-defined]
    return view
