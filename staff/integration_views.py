"""Connected systems (`admin:integrations`): where each source system's balances come
from (local, pull, push), and the sandbox source system's switches for demos and tests.
Every change is audited (`shared.balance_sources.configuration`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.balance_sources import configuration
from shared.balance_sources.sandbox import SandboxBooks, Switches
from shared.i18n import gettext_ as _
from shared.models import SourceMode
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.templating import render
from staff.web import form_text, redirect_to, settings_of

PERMISSION = "admin:integrations"
NOTICE = "staff_integrations_notice"


def mode_names() -> dict[str, str]:
    return {
        SourceMode.LOCAL: _("Bills held in Paydesk"),
        SourceMode.PULL: _("Asked from the system (pull)"),
        SourceMode.PUSH: _("Sent by the system (push, through the integration API)"),
    }


def _books(request: Request, system: str) -> SandboxBooks:
    return SandboxBooks(settings_of(request).var_dir / "sandbox-source", system)


@page
@requires(PERMISSION)
def integrations(request: Request, db: Session) -> Response:
    found = configuration.systems(db, settings_of(request))
    context: dict[str, Any] = {
        "systems": found,
        "modes": mode_names(),
        "switches": {s.system: _books(request, s.system).switches() for s in found if s.sandbox},
        "notice": request.session.pop(NOTICE, None),
        "max_age": settings_of(request).balance_max_age_seconds,
    }
    return render(request, "staff/admin/integrations.html", context)


def _system(request: Request, db: Session) -> configuration.SystemSource:
    name = request.path_params["system"]
    for system in configuration.systems(db, settings_of(request)):
        if system.system == name:
            return system
    raise HTTPException(404)


@page
@requires(PERMISSION)
def source(request: Request, db: Session) -> Response:
    system = _system(request, db)
    settings = settings_of(request)
    suggested = configuration.sandbox_url(settings, system.system) if system.sandbox else ""
    form = {
        "mode": str(system.mode),
        "url": system.url or suggested,
        "timeout": str(system.timeout_ms),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: form_text(request, name) for name in ("mode", "url", "timeout")}
        staff: StaffContext = request.state.staff
        try:
            configuration.set_source(
                db, settings, staff.actor, system, form["mode"], form["url"], form["timeout"]
            )
        except configuration.SourceRefused as refused:
            db.rollback()
            errors = {f"source-{refused.field}": refused.message}
        else:
            if form["mode"] == SourceMode.PULL and system.sandbox:
                # The sandbox's books start as the bills Paydesk holds for the system.
                _books(request, system.system).copy_from(db)
            request.session[NOTICE] = _("Where %(system)s's balances come from is saved.") % {
                "system": system.system
            }
            return redirect_to(request, "staff:admin_integrations")
    context: dict[str, Any] = {
        "system": system,
        "form": form,
        "errors": errors,
        "modes": mode_names(),
    }
    return render(request, "staff/admin/integration_source.html", context, 422 if errors else 200)


@page
@requires(PERMISSION)
def sandbox_switches(request: Request, db: Session) -> Response:
    system = _system(request, db)
    if not system.sandbox:
        raise HTTPException(404)
    chosen = set(request.state.form.getlist("switch"))
    _books(request, system.system).set_switches(
        Switches(
            slow="slow" in chosen,
            failing="failing" in chosen,
            contradicting="contradicting" in chosen,
        )
    )
    request.session[NOTICE] = _("The sandbox's switches for %(system)s are set.") % {
        "system": system.system
    }
    return redirect_to(request, "staff:admin_integrations")
