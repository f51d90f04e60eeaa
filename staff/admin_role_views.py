"""Administration of roles: what each permits, and new roles. Nobody defines a role
holding a permission they do not hold (`shared.auth.grants`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.auth import grants
from shared.auth import roles as roles_service
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.i18n import gettext_ as _
from shared.models import Permission, Role
from shared.permissions import PERMISSION_GROUPS
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.admin_views import NOTICE, USERNAME_CHARACTERS, lock_out_message, not_held, notice
from staff.templating import render
from staff.web import form_text, form_values, redirect_to

ROLE_NAME_MAX = 64
ROLE_DESCRIPTION_MAX = 200


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


# -- roles ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PermissionGroup:
    label: str
    permissions: list[Permission]


def _group_labels() -> dict[str, str]:
    return {
        "service": _("Customer service and payments"),
        "exceptions": _("Refunds, voids and adjustments"),
        "oversight": _("Audit, reports and exports"),
        "administration": _("Administration (never limited to a department)"),
    }


def _permission_groups(db: Session) -> list[PermissionGroup]:
    """The permission catalogue in the groups the form shows, in a stable order."""
    known = roles_service.catalogue(db)
    labels = _group_labels()
    groups = [
        PermissionGroup(labels[key], [known[c] for c in codes if c in known])
        for key, codes in PERMISSION_GROUPS.items()
    ]
    grouped = {c for codes in PERMISSION_GROUPS.values() for c in codes}
    if others := [p for code, p in known.items() if code not in grouped]:
        groups.append(PermissionGroup(_("Other"), others))
    return [g for g in groups if g.permissions]


def _role(db: Session, request: Request) -> Role:
    role = db.get(Role, request.path_params["role_id"])
    if role is None:
        raise HTTPException(404)
    return role


def _chosen_permissions(request: Request, db: Session, errors: dict[str, str]) -> list[str]:
    chosen = form_values(request, "permissions")
    if not set(chosen) <= set(roles_service.catalogue(db)):
        errors["role-permissions"] = _("Choose permissions from the list.")
    return chosen


def _role_form(
    request: Request,
    db: Session,
    form: dict[str, Any],
    errors: dict[str, str],
    role: Role | None = None,
) -> Response:
    context = {
        "role": role,
        "form": form,
        "groups": _permission_groups(db),
        "errors": errors,
        "notice": request.session.pop(NOTICE, None),
    }
    return render(request, "staff/admin/role_form.html", context, 422 if errors else 200)


@page
@requires("admin:roles")
def roles(request: Request, db: Session) -> Response:
    found = db.scalars(
        select(Role).order_by(Role.name).options(selectinload(Role.permissions))
    ).all()
    context = {"roles": found, "notice": request.session.pop(NOTICE, None)}
    return render(request, "staff/admin/roles.html", context)


def _new_role_errors(db: Session, form: dict[str, Any]) -> dict[str, str]:
    errors = {}
    name = form["name"]
    if not name:
        errors["role-name"] = _("Enter a name for the role.")
    elif not set(name) <= USERNAME_CHARACTERS or len(name) > ROLE_NAME_MAX:
        errors["role-name"] = _(
            "Role names use up to 64 lowercase letters, digits, dots and dashes."
        )
    elif db.scalars(select(Role.id).where(Role.name == name)).first():
        errors["role-name"] = _("There is already a role with that name.")
    for field, name in (("role-name", "name"), ("role-description", "description")):
        if holds_card_number(form[name]):
            errors[field], form[name] = _(CARD_NUMBER_REFUSED), ""
    if not form["description"]:
        errors.setdefault("role-description", _("Say what the role is for."))
    elif len(form["description"]) > ROLE_DESCRIPTION_MAX:
        errors["role-description"] = _("Keep the description to 200 characters.")
    return errors


@page
@requires("admin:roles")
def role_new(request: Request, db: Session) -> Response:
    form: dict[str, Any] = {"name": "", "description": "", "permissions": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {
            "name": form_text(request, "name").lower(),
            "description": form_text(request, "description"),
        }
        errors = _new_role_errors(db, form)
        form["permissions"] = _chosen_permissions(request, db, errors)
        if not form["permissions"] and "role-permissions" not in errors:
            errors["role-permissions"] = _("Choose at least one permission.")
        elif missing := grants.missing_to_define(_staff(request).permissions, form["permissions"]):
            errors.setdefault("role-permissions", not_held(missing))
        if not errors:
            role = roles_service.create_role(
                db, _staff(request).actor, form["name"], form["description"], form["permissions"]
            )
            notice(request, _("Role %(role)s created.") % {"role": role.name})
            return redirect_to(request, "staff:admin_roles")
    return _role_form(request, db, form, errors)


@page
@requires("admin:roles")
def role_detail(request: Request, db: Session) -> Response:
    role = _role(db, request)
    form: dict[str, Any] = {"permissions": roles_service.codes_of(role)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form["permissions"] = _chosen_permissions(request, db, errors)
        missing = grants.missing_to_define(
            _staff(request).permissions, roles_service.codes_of(role), form["permissions"]
        )
        if missing and not errors:
            errors["role-permissions"] = not_held(missing)
        if not errors:
            try:
                changed = roles_service.set_permissions(
                    db, _staff(request).actor, role, form["permissions"]
                )
            except roles_service.WouldLockOut as refused:
                errors["role-permissions"] = lock_out_message(refused)
            else:
                message = _("Role %(role)s saved.") if changed else _("Nothing to save.")
                notice(request, message % {"role": role.name})
                return redirect_to(request, "staff:admin_role", role_id=role.id)
    return _role_form(request, db, form, errors, role)
