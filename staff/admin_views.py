"""Administration of staff users and their roles (optionally limited to a department).
The roles themselves, what each permits, are `staff.admin_role_views`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.auth import access, admin, grants, login, passwords
from shared.auth import roles as roles_service
from shared.auth.staff_users import StaffError, create_staff
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.i18n import gettext_ as _
from shared.models import Department, Role, RoleAssignment, StaffUser
from shared.web.endpoint import page
from staff.access import StaffContext, requires, second_factor_given
from staff.templating import render
from staff.web import (
    form_text,
    form_values,
    id_from,
    local_time,
    password_field,
    redirect_to,
)

NOTICE = "staff_admin_notice"
USERNAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def _roles(db: Session) -> list[Role]:
    return list(db.scalars(select(Role).order_by(Role.name)))


def _departments(db: Session) -> list[Department]:
    return list(db.scalars(select(Department).order_by(Department.name)))


def _user(db: Session, request: Request) -> StaffUser:
    user = db.get(StaffUser, request.path_params["user_id"])
    if user is None:
        raise HTTPException(404)
    return user


def notice(request: Request, message: str) -> None:
    request.session[NOTICE] = message


def not_held(missing: list[str]) -> str:
    return _(
        "Not allowed: that needs %(permissions)s, which you do not have. Ask an "
        "administrator who has them."
    ) % {"permissions": ", ".join(missing)}


def _not_yours_to_manage(request: Request, db: Session, user: StaffUser) -> str | None:
    """Why this account is not the signed-in administrator's to manage, if it is not."""
    target = access.permissions_of(db, user)
    if missing := grants.missing_to_manage(_staff(request).permissions, target):
        return _(
            "%(name)s holds %(permissions)s, which you do not have: only an administrator "
            "who has them can change this account."
        ) % {"name": user.username, "permissions": ", ".join(missing)}
    return None


def _reset_refused(request: Request, db: Session, user: StaffUser) -> str | None:
    """Why the signed-in administrator may not reset this person's password or code."""
    if not second_factor_given(request):
        return _(
            "Resetting a password or an authenticator needs a sign-in with your own "
            "authenticator code. Sign out, then sign in again with the code."
        )
    return _not_yours_to_manage(request, db, user)


# -- the list ---------------------------------------------------------------------------


@page
@requires("admin:users")
def users(request: Request, db: Session) -> Response:
    found = db.scalars(select(StaffUser).order_by(StaffUser.username)).all()
    rows = [
        {
            "user": user,
            "roles": admin.grants_of(db, user.id),
            "locked": login.locked_until(user) is not None,
        }
        for user in found
    ]
    return render(request, "staff/admin/users.html", {"rows": rows})


# -- a new user -------------------------------------------------------------------------


def _new_user_errors(db: Session, form: dict[str, Any], known_roles: set[str]) -> dict[str, str]:
    errors = {}
    username = form["username"]
    if not username:
        errors["user-username"] = _("Enter a username.")
    elif not set(username) <= USERNAME_CHARACTERS:
        errors["user-username"] = _("Usernames use lowercase letters, digits, dots and dashes.")
    elif db.scalars(select(StaffUser.id).where(StaffUser.username == username)).first():
        errors["user-username"] = _("There is already a user with that username.")
    if not form["display_name"]:
        errors["user-name"] = _("Enter the person's name.")
    if form["email"] and "@" not in form["email"]:
        errors["user-email"] = _("Enter an email address like name@example.org, or leave it empty.")
    if not form["roles"]:
        errors["user-roles"] = _("Choose at least one role.")
    elif not set(form["roles"]) <= known_roles:
        errors["user-roles"] = _("Choose roles from the list.")
    if passwords.too_short(form["password"]):
        errors["user-password"] = _("The password needs at least 12 characters.")
    for field, name in (("user-username", "username"), ("user-name", "display_name")):
        if holds_card_number(form[name]):
            errors[field], form[name] = _(CARD_NUMBER_REFUSED), ""
    if holds_card_number(form["email"]):
        errors["user-email"], form["email"] = _(CARD_NUMBER_REFUSED), ""
    return errors


@page
@requires("admin:users")
def user_new(request: Request, db: Session) -> Response:
    roles = _roles(db)
    form: dict[str, Any] = {"username": "", "display_name": "", "email": "", "roles": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {
            "username": form_text(request, "username").lower(),
            "display_name": form_text(request, "display_name"),
            "email": form_text(request, "email"),
            "roles": form_values(request, "roles"),
            "password": password_field(request, "password"),
        }
        errors = _new_user_errors(db, form, {r.name for r in roles})
        chosen = [r for r in roles if r.name in form["roles"]]
        missing = grants.missing_to_define(
            _staff(request).permissions, *(roles_service.codes_of(r) for r in chosen)
        )
        if missing and "user-roles" not in errors:
            errors["user-roles"] = not_held(missing)
        if not errors:
            try:
                user = create_staff(
                    db,
                    _staff(request).actor,
                    username=form["username"],
                    password=form["password"],
                    display_name=form["display_name"],
                    roles=form["roles"],
                    email=form["email"] or None,
                )
            except StaffError as exc:  # a rule of create_staff the checks above missed
                errors["user-username"] = str(exc)
            else:
                # The admin typed this password: the user replaces it at first sign-in.
                user.must_change_password = True
                notice(request, _("User %(name)s created.") % {"name": user.username})
                return redirect_to(request, "staff:admin_user", user_id=user.id)
    context = {"roles": roles, "form": form, "errors": errors}
    return render(request, "staff/admin/user_new.html", context, 422 if errors else 200)


# -- one user ---------------------------------------------------------------------------


def _user_page(
    request: Request, db: Session, user: StaffUser, errors: dict[str, str] | None = None
) -> Response:
    locked = login.locked_until(user)
    context = {
        "user": user,
        "grants": admin.grants_of(db, user.id),
        "locked_until": local_time(request, locked) if locked else None,
        "roles": _roles(db),
        "departments": _departments(db),
        "errors": errors or {},
        "notice": request.session.pop(NOTICE, None),
        "is_self": user.id == _staff(request).user.id,
    }
    return render(request, "staff/admin/user.html", context, 422 if errors else 200)


@page
@requires("admin:users")
def user_detail(request: Request, db: Session) -> Response:
    return _user_page(request, db, _user(db, request))


@page
@requires("admin:users")
def user_password(request: Request, db: Session) -> Response:
    user = _user(db, request)
    if refused := _reset_refused(request, db, user):
        return _user_page(request, db, user, {"reset-password": refused})
    password = password_field(request, "password")
    if passwords.too_short(password):
        errors = {"reset-password": _("The password needs at least 12 characters.")}
        return _user_page(request, db, user, errors)
    admin.reset_password(db, _staff(request).actor, user, password)
    notice(
        request,
        _(
            "Temporary password set. Give it to the user in person: they choose their own "
            "when they next sign in."
        ),
    )
    return redirect_to(request, "staff:admin_user", user_id=user.id)


@page
@requires("admin:users")
def user_unlock(request: Request, db: Session) -> Response:
    user = _user(db, request)
    admin.unlock(db, _staff(request).actor, user)
    notice(request, _("Account unlocked."))
    return redirect_to(request, "staff:admin_user", user_id=user.id)


@page
@requires("admin:users")
def user_mfa_reset(request: Request, db: Session) -> Response:
    user = _user(db, request)
    if refused := _reset_refused(request, db, user):
        return _user_page(request, db, user, {"status-action": refused})
    admin.reset_mfa(db, _staff(request).actor, user)
    notice(request, _("Authenticator removed. The user sets up a new one at next sign-in."))
    return redirect_to(request, "staff:admin_user", user_id=user.id)


@page
@requires("admin:users")
def user_active(request: Request, db: Session) -> Response:
    user = _user(db, request)
    active = form_text(request, "active") == "yes"
    if user.id == _staff(request).user.id:
        message = _("You cannot change your own account. Ask another administrator.")
        errors = {"status-action": message}
        return _user_page(request, db, user, errors)
    if refused := _not_yours_to_manage(request, db, user):
        return _user_page(request, db, user, {"status-action": refused})
    held = roles_service.administered(db)
    admin.set_active(db, _staff(request).actor, user, active)
    if refused := _lock_out_refused(db, held):
        return _user_page(request, db, _user(db, request), {"status-action": refused})
    notice(request, _("Account reactivated.") if active else _("Account deactivated."))
    return redirect_to(request, "staff:admin_user", user_id=user.id)


def lock_out_message(refused: roles_service.WouldLockOut) -> str:
    return _(
        "Not saved: nobody active would be left holding %(permissions)s, so "
        "nobody could manage users and roles any more. Give it to another "
        "active user first."
    ) % {"permissions": ", ".join(refused.permissions)}


def _lock_out_refused(db: Session, held_before: set[str]) -> str | None:
    """The message, after rolling the change back, if it left administration to nobody."""
    try:
        roles_service.refuse_lock_out(db, held_before)
    except roles_service.WouldLockOut as refused:
        db.rollback()
        return lock_out_message(refused)
    return None


def _grant_refused(
    request: Request, db: Session, user: StaffUser, role: Role, department_id: int | None
) -> str | None:
    """Why the signed-in administrator may not give (or take) this role, if they may not."""
    codes = roles_service.codes_of(role)
    if missing := grants.missing_to_grant(_staff(request).permissions, codes, department_id):
        return not_held(missing)
    return _not_yours_to_manage(request, db, user)


@page
@requires("admin:users")
def user_role_add(request: Request, db: Session) -> Response:
    user = _user(db, request)
    role = db.scalars(select(Role).where(Role.name == form_text(request, "role"))).first()
    department_id = form_text(request, "department")
    chosen = id_from(department_id)
    department = db.get(Department, chosen) if chosen is not None else None
    errors = {}
    if role is None:
        errors["grant-role"] = _("Choose a role.")
    elif department_id and department is None:
        errors["grant-department"] = _("Choose a department from the list.")
    elif user.id == _staff(request).user.id:
        errors["grant-role"] = _("You cannot change your own roles. Ask another administrator.")
    elif refused := _grant_refused(request, db, user, role, department_id=chosen):
        errors["grant-role"] = refused
    if errors or role is None:
        return _user_page(request, db, user, errors)
    if admin.assign_role(db, _staff(request).actor, user, role, department):
        notice(request, _("Role %(role)s given.") % {"role": role.name})
    else:
        notice(request, _("The user already has that role."))
    return redirect_to(request, "staff:admin_user", user_id=user.id)


@page
@requires("admin:users")
def user_role_remove(request: Request, db: Session) -> Response:
    user = _user(db, request)
    assignment = db.get(RoleAssignment, request.path_params["assignment_id"])
    if assignment is None or assignment.user_id != user.id:
        raise HTTPException(404)
    if user.id == _staff(request).user.id:
        errors = {"grant-role": _("You cannot change your own roles. Ask another administrator.")}
        return _user_page(request, db, user, errors)
    # Taking a role away takes what giving it takes: nobody strips access they lack.
    if refused := _grant_refused(request, db, user, assignment.role, assignment.department_id):
        return _user_page(request, db, user, {"grant-role": refused})
    name = assignment.role.name
    held = roles_service.administered(db)
    admin.remove_role(db, _staff(request).actor, assignment)
    if refused := _lock_out_refused(db, held):
        return _user_page(request, db, _user(db, request), {"grant-role": refused})
    notice(request, _("Role %(role)s removed.") % {"role": name})
    return redirect_to(request, "staff:admin_user", user_id=user.id)
