"""Signing in (password, then a TOTP code when needed), enrolling a code, choosing a new
password, signing out.

Between the password and the code the session holds only a pending sign-in
(`PENDING`): the session is signed in (`kind="staff"`, `staff_user_id`) once every
required factor is given. Each code is accepted once. Someone signed in with a
temporary password an administrator set goes to the new-password page, and every other
page sends them back there until they have chosen one (`staff.access.requires`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.auth import access, account, login, mfa, passwords
from shared.auth.login import Attempt, Outcome
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.db import utcnow
from shared.i18n import gettext_ as _
from shared.models import SessionKind, StaffUser
from shared.web.endpoint import page
from shared.web.sessions import rotate, session_of
from staff.access import FACTORS, SIGNED_IN, StaffContext, public, requires, signed_in_user
from staff.templating import render
from staff.web import (
    client_address,
    form_text,
    local_time,
    password_field,
    redirect_to,
    safe_next,
    settings_of,
)

PENDING = "staff_login"
SETUP = "staff_mfa_setup"
CHANGED_NOTICE = "staff_password_changed"
PENDING_FOR = dt.timedelta(minutes=5)
STAGE_CODE = "code"
STAGE_ENROL = "enrol"


def refusal(request: Request, attempt: Attempt) -> str:
    """What to tell someone whose password or code was not accepted."""
    if attempt.outcome is Outcome.LOCKED and attempt.until is not None:
        return _(
            "Too many failed sign-ins from here. This account is locked on this device "
            "until %(time)s. An administrator can unlock it."
        ) % {"time": local_time(request, attempt.until)}
    if attempt.outcome is Outcome.SLOWED and attempt.until is not None:
        return _(
            "There have been many failed sign-ins with this username. Enter the code from "
            "your authenticator app with your password, or try again after %(time)s."
        ) % {"time": local_time(request, attempt.until, seconds=True)}
    if attempt.slowed:
        return _(
            "The username, password or code is not right. There have been many failed "
            "sign-ins with this username: if you have an authenticator app, enter its code "
            "with your password."
        )
    if attempt.outcome is Outcome.THROTTLED and attempt.until is not None:
        return _("Too many failed sign-ins from this address. Try again after %(time)s.") % {
            "time": local_time(request, attempt.until)
        }
    if attempt.outcome is Outcome.INACTIVE:
        return _("This account is not active. Ask an administrator to reactivate it.")
    return _("The username or password is not right.")


def code_refused() -> str:
    # The same words for a wrong code and a used one: neither tells an onlooker more.
    return _(
        "The code was not accepted. Enter the 6-digit code your app shows now; "
        "each code works only once."
    )


def _status(attempt: Attempt) -> int:
    refused = {Outcome.LOCKED, Outcome.THROTTLED, Outcome.SLOWED}
    return 429 if attempt.outcome in refused else 422


# -- password ------------------------------------------------------------------------


def _login_page(
    request: Request,
    errors: dict[str, str] | None = None,
    username: str = "",
    status_code: int = 200,
    *,
    ask_code: bool = False,
) -> Response:
    context = {
        "errors": errors or {},
        "username": username,
        # The name is slowed: a code given with the password gets through at once.
        "ask_code": ask_code,
        "next": safe_next(request, request.query_params.get("next") or _form_next(request)),
        "signed_out": request.query_params.get("signed_out") == "1",
        # Signed out because their access now needs a second factor their sign-in lacked.
        "again_with_code": request.query_params.get("again") == "mfa",
        "expired": request.query_params.get("expired") == "1",
        "sso": request.app.state.runtime.oidc is not None,
    }
    return render(request, "staff/login.html", context, status_code)


def _form_next(request: Request) -> str:
    return form_text(request, "next") if request.method == "POST" else ""


@page
@public
def sign_in(request: Request, db: Session) -> Response:
    if request.method == "GET":
        if signed_in_user(request, db) is not None:
            return RedirectResponse(safe_next(request, request.query_params.get("next")), 303)
        return _login_page(request)
    username, password = form_text(request, "username"), password_field(request, "password")
    errors = {}
    if not username:
        errors["login-username"] = _("Enter your username.")
    if not password:
        errors["login-password"] = _("Enter your password.")
    if holds_card_number(username):
        # Never checked, so never audited (a failed sign-in's name is kept for good).
        errors["login-username"], username = _(CARD_NUMBER_REFUSED), ""
    if errors:
        return _login_page(request, errors, username, 422)
    code = form_text(request, "code")
    attempt = login.check_password(db, username, password, client_address(request), code=code)
    if not attempt.ok or attempt.user is None:
        message = refusal(request, attempt)
        status = _status(attempt)
        return _login_page(
            request, {"login-username": message}, username, status, ask_code=attempt.slowed
        )
    user = attempt.user
    target = safe_next(request, form_text(request, "next"))
    if attempt.factors == ("password", "totp"):
        return _complete(request, db, user, ["password", "totp"], target)
    if user.mfa_secret:
        return _start_pending(request, user, STAGE_CODE, target)
    needed = settings_of(request).mfa_required_permissions
    if mfa.required(access.permissions_of(db, user).held(), needed):
        return _start_pending(request, user, STAGE_ENROL, target, mfa.new_secret())
    return _complete(request, db, user, ["password"], target)


def _start_pending(
    request: Request, user: StaffUser, stage: str, target: str, secret: str | None = None
) -> Response:
    session = request.session
    session[PENDING] = {
        "user_id": user.id,
        "stage": stage,
        "secret": secret,
        "next": target,
        "started": utcnow().isoformat(),
    }
    # The password was right: whoever held the old session id must not share this one.
    rotate(request)
    name = "staff:login_code" if stage == STAGE_CODE else "staff:login_enrol"
    return redirect_to(request, name)


def _complete(
    request: Request, db: Session, user: StaffUser, factors: list[str], target: str
) -> Response:
    login.record_login(db, user, client_address(request), factors)
    session = session_of(request)
    session.pop(PENDING, None)
    session.kind = SessionKind.STAFF
    session.staff_user_id = user.id
    session[FACTORS] = factors
    rotate(request)
    if account.password_change_due(user):
        target = request.url_for("staff:account_password").path
    return RedirectResponse(target, status_code=303)


# -- the code, or enrolling one --------------------------------------------------------


def _pending(request: Request, db: Session, stage: str) -> tuple[StaffUser, dict[str, Any]] | None:
    data = request.session.get(PENDING)
    if not isinstance(data, dict) or data.get("stage") != stage:
        return None
    started = dt.datetime.fromisoformat(str(data.get("started")))
    user = db.get(StaffUser, int(data["user_id"]))
    if user is None or utcnow() - started > PENDING_FOR:
        request.session.pop(PENDING, None)
        return None
    return user, data


def _start_again(request: Request) -> Response:
    return RedirectResponse(request.url_for("staff:login").path + "?expired=1", 303)


def _check_code(
    request: Request, db: Session, user: StaffUser, secret: str
) -> tuple[Attempt | None, Response | None, dict[str, str]]:
    """Check the posted code: (the accepted attempt, or the page to show instead, errors)."""
    entered = form_text(request, "code")
    if not entered:
        return None, None, {"mfa-code": _("Enter the 6-digit code from your authenticator app.")}
    attempt = login.check_code(db, user, secret, entered, client_address(request))
    if attempt.ok:
        return attempt, None, {}
    if attempt.outcome is Outcome.INVALID:
        return None, None, {"mfa-code": code_refused()}
    # Locked or deactivated meanwhile: this sign-in is over; start again from the password.
    request.session.pop(PENDING, None)
    errors = {"login-username": refusal(request, attempt)}
    return None, _login_page(request, errors, user.username, _status(attempt)), {}


@page
@public
def code(request: Request, db: Session) -> Response:
    pending = _pending(request, db, STAGE_CODE)
    if pending is None:
        return _start_again(request)
    user, data = pending
    errors: dict[str, str] = {}
    if request.method == "POST":
        attempt, refused, errors = _check_code(request, db, user, user.mfa_secret or "")
        if refused is not None:
            return refused
        if attempt is not None:
            return _complete(request, db, user, ["password", "totp"], str(data["next"]))
    status = 422 if errors else 200
    return render(request, "staff/login_code.html", {"errors": errors}, status)


def _setup_context(request: Request, user: StaffUser, secret: str) -> dict[str, Any]:
    uri = mfa.provisioning_uri(secret, user.username, settings_of(request).org_name)
    return {"qr": mfa.qr_svg(uri), "secret": mfa.grouped(secret)}


@page
@public
def enrol(request: Request, db: Session) -> Response:
    pending = _pending(request, db, STAGE_ENROL)
    if pending is None:
        return _start_again(request)
    user, data = pending
    secret = str(data["secret"])
    errors: dict[str, str] = {}
    if request.method == "POST":
        attempt, refused, errors = _check_code(request, db, user, secret)
        if refused is not None:
            return refused
        if attempt is not None:
            login.enrol(db, user, secret, client_address(request))
            return _complete(request, db, user, ["password", "totp"], str(data["next"]))
    context = _setup_context(request, user, secret) | {"errors": errors, "during_sign_in": True}
    return render(request, "staff/mfa_setup.html", context, 422 if errors else 200)


@page
@requires(SIGNED_IN)
def account_mfa(request: Request, db: Session) -> Response:
    """Set up a code voluntarily (for roles that do not require one)."""
    staff: StaffContext = request.state.staff
    user = staff.user
    if user.mfa_secret:
        return render(request, "staff/mfa_done.html")
    secret = request.session.get(SETUP)
    if not isinstance(secret, str):
        secret = request.session[SETUP] = mfa.new_secret()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        entered = form_text(request, "code")
        step = mfa.matching_step(secret, entered, utcnow())
        if not entered:
            errors["mfa-code"] = _("Enter the 6-digit code from your authenticator app.")
        elif step is not None:
            login.enrol(db, user, secret, client_address(request), step)
            request.session.pop(SETUP, None)
            return render(request, "staff/mfa_done.html", {"just_enrolled": True})
        else:
            errors["mfa-code"] = code_refused()
        status = 422
    context = _setup_context(request, user, secret) | {"errors": errors, "during_sign_in": False}
    return render(request, "staff/mfa_setup.html", context, status)


# -- your own password -----------------------------------------------------------------


def _password_errors(request: Request, db: Session, user: StaffUser) -> dict[str, str]:
    """What is wrong with the posted change, field by field; empty when nothing is.

    The current password is checked only once the rest is right: a typo in the new one
    then costs no failed attempt toward the lockout.
    """
    forced = account.password_change_due(user)
    current, new = password_field(request, "current_password"), password_field(request, "new")
    errors = {}
    if not forced and not current:
        errors["password-current"] = _("Enter your current password.")
    if passwords.too_short(new):
        errors["password-new"] = _("The new password needs at least 12 characters.")
    elif password_field(request, "confirm") != new:
        errors["password-confirm"] = _("Type the same new password twice.")
    if errors:
        return errors
    if not forced:
        attempt = login.check_current_password(db, user, current, client_address(request))
        if not attempt.ok:
            message = _("Your current password is not right.")
            if attempt.outcome is Outcome.LOCKED:
                message = refusal(request, attempt)
            return {"password-current": message}
    if passwords.verify(user, new):
        if forced:
            return {"password-new": _("Choose a password of your own, not the temporary one.")}
        return {"password-new": _("Choose a password different from your current one.")}
    return {}


@page
@requires(SIGNED_IN, with_temporary_password=True)
def account_password(request: Request, db: Session) -> Response:
    """Choose a new password: after an administrator's reset (required), or any time."""
    staff: StaffContext = request.state.staff
    user = staff.user
    errors: dict[str, str] = {}
    if request.method == "POST" and account.has_password(user):
        errors = _password_errors(request, db, user)
        if not errors:
            account.change_password(
                db, user, password_field(request, "new"), client_address(request)
            )
            # This browser stays signed in, under a new session id; every other one is out.
            # Its time limit still counts from the sign-in: a new password is no new login.
            rotate(request, keep_start=True)
            request.session[CHANGED_NOTICE] = True
            return redirect_to(request, "staff:account_password")
    context = {
        "errors": errors,
        "forced": account.password_change_due(user),
        "sso_only": not account.has_password(user),
        "changed": request.session.pop(CHANGED_NOTICE, False),
    }
    return render(request, "staff/account_password.html", context, 422 if errors else 200)


# -- signing out -------------------------------------------------------------------------


def _signed_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(request.url_for("staff:login").path + "?signed_out=1", 303)


@page
@requires(SIGNED_IN, with_temporary_password=True)
def sign_out(request: Request, db: Session) -> Response:
    staff: StaffContext = request.state.staff
    login.record_logout(db, staff.user, client_address(request), everywhere=False)
    return _signed_out(request)


@page
@requires(SIGNED_IN, with_temporary_password=True)
def sign_out_everywhere(request: Request, db: Session) -> Response:
    staff: StaffContext = request.state.staff
    login.record_logout(db, staff.user, client_address(request), everywhere=True)
    return _signed_out(request)
