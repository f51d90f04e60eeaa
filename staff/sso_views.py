"""Single sign-on: the staff member signs in at the organisation's OpenID Connect
provider; groups there decide their roles here (`PAYDESK_OIDC_ROLE_MAP`), and roles
allowing what needs a second factor need the provider to show one
(`PAYDESK_OIDC_MFA_AMR`/`_ACR`)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.actors import Actor, ActorType
from shared.auth import login, oidc
from shared.auth.oidc import OidcClient, OidcError, OidcIdentity
from shared.db import transaction
from shared.i18n import gettext_ as _
from shared.models import SessionKind
from shared.web.endpoint import page
from shared.web.sessions import rotate, session_of
from staff.access import FACTORS, public
from staff.templating import render
from staff.web import client_address, safe_next, settings_of

SSO = "staff_sso"


def _client(request: Request) -> OidcClient | None:
    client: OidcClient | None = request.app.state.runtime.oidc
    return client


def _refused(request: Request, message: str, status_code: int) -> Response:
    context = {"errors": {"form": message}, "username": "", "next": "", "sso": True}
    context |= {"signed_out": False, "expired": False, "ask_code": False}
    context |= {"again_with_code": False}
    return render(request, "staff/login.html", context, status_code)


@page
@public
def sso_start(request: Request, db: Session) -> Response:
    client = _client(request)
    if client is None:
        return _refused(request, _("Single sign-on is not set up here."), 404)
    try:
        url, blob = client.start(safe_next(request, request.query_params.get("next")))
    except OidcError as error:
        return _refused(request, str(error), 503)
    request.session[SSO] = blob
    return RedirectResponse(url, status_code=303)


@page
@public
def sso_callback(request: Request, db: Session) -> Response:
    client = _client(request)
    if client is None:
        return _refused(request, _("Single sign-on is not set up here."), 404)
    blob = request.session.pop(SSO, None)
    address = client_address(request)
    # A GET: `page` rolls its session back, so what must last is written in its own.
    identity: OidcIdentity | None = None
    try:
        identity = client.finish(dict(request.query_params), blob)
        with transaction(request.app.state.db) as tx:
            user = oidc.provision_staff(
                tx,
                identity,
                Actor(ActorType.STAFF, identity.username, address),
                mfa_permissions=settings_of(request).mfa_required_permissions,
            )
            factors = ["sso", "mfa"] if identity.multi_factor else ["sso"]
            login.record_login(tx, user, address, factors)
            user_id = user.id
    except OidcError as error:
        with transaction(request.app.state.db) as tx:
            oidc.record_refusal(tx, error, address, identity)
        return _refused(request, str(error), 403)
    session = session_of(request)
    session.kind = SessionKind.STAFF
    session.staff_user_id = user_id
    session[FACTORS] = factors
    rotate(request)
    return RedirectResponse(oidc.return_to(blob), status_code=303)
