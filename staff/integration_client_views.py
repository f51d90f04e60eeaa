"""Integration clients (`admin:integrations`): register a back-end system's OAuth2 client
(scopes, optional department; its secret shown once, on the answer to the registration
only) and revoke one (its tokens stop at once). Audited by shared.integration_clients."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared import integration_clients
from shared.card_numbers import holds_card_number
from shared.catalog_names import name_in
from shared.i18n import current_locale
from shared.i18n import gettext_ as _
from shared.models import Department, IntegrationClient
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.templating import render
from staff.web import form_text, id_from, redirect_to, settings_of

PERMISSION = "admin:integrations"
NOTICE = "staff_integration_clients_notice"


def _departments(request: Request, db: Session) -> dict[int, str]:
    locale, default = current_locale.get(), settings_of(request).default_locale
    found = db.scalars(select(Department).order_by(Department.name))
    return {d.id: name_in(d, locale, default) for d in found}


@page
@requires(PERMISSION)
def clients(request: Request, db: Session) -> Response:
    form: dict[str, Any] = {"name": "", "department": "", "scopes": []}
    errors: dict[str, str] = {}
    registered: integration_clients.Registered | None = None
    if request.method == "POST":
        form = {
            "name": form_text(request, "name"),
            "department": form_text(request, "department"),
            "scopes": [str(s) for s in request.state.form.getlist("scope")],
        }
        department_id = id_from(form["department"])
        staff: StaffContext = request.state.staff
        if form["department"] and department_id is None:
            errors["client-department"] = _("Choose a department from the list.")
        else:
            try:
                registered = integration_clients.register(
                    db,
                    staff.actor,
                    name=form["name"],
                    scopes=form["scopes"],
                    department_id=department_id,
                )
            except integration_clients.ClientRefused as refused:
                db.rollback()
                errors[f"client-{refused.field}"] = _(refused.message)
            else:
                db.commit()
                form = {"name": "", "department": "", "scopes": []}
        # A card number typed into a field is never shown back.
        if holds_card_number(form["name"]):
            form["name"] = ""
    context: dict[str, Any] = {
        "clients": integration_clients.clients(db),
        "departments": _departments(request, db),
        "scopes": integration_clients.SCOPES,
        "form": form,
        "errors": errors,
        # The secret exists only in this answer: nothing keeps it, not even the session.
        "registered": registered,
        "notice": request.session.pop(NOTICE, None),
    }
    return render(request, "staff/admin/integration_clients.html", context, 422 if errors else 200)


@page
@requires(PERMISSION)
def revoke(request: Request, db: Session) -> Response:
    client = db.get(IntegrationClient, request.path_params["client_id"])
    if client is None:
        raise HTTPException(404)
    if client.status == integration_clients.ACTIVE:
        staff: StaffContext = request.state.staff
        integration_clients.revoke(db, staff.actor, client)
        request.session[NOTICE] = _(
            "%(name)s is revoked: its credentials and tokens no longer work."
        ) % {"name": client.name}
    return redirect_to(request, "staff:admin_integration_clients")
