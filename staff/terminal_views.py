"""Lobby kiosks in the staff console: their health for everyone who may see it
(`terminals:view`: online or offline from missed heartbeats, reader and printer, last
payment, open help requests), and the registry for administrators (`admin:terminals`):
register a kiosk and show its one-time enrolment code once, issue a new code, take it out
of service or back, revoke it. The domain work and its audit are in shared.terminals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.card_numbers import holds_card_number
from shared.catalog_names import name_in
from shared.i18n import current_locale
from shared.i18n import gettext_ as _
from shared.models import Department, Terminal
from shared.terminals import health, registry
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.payment_views import display
from staff.templating import render
from staff.web import form_text, id_from, redirect_to, settings_of

MANAGE = "admin:terminals"
VIEW = "terminals:view"
NOTICE = "staff_terminal_notice"


def fault_names() -> dict[str, str]:
    return {
        "offline": _("Offline: no heartbeat for three intervals"),
        "reader": _("Card reader not working"),
        "printer": _("Printer cannot print"),
        "kiosk_reported": _("The kiosk reports itself out of service"),
        "taken_out": _("Taken out of service by staff"),
    }


def state_names() -> dict[str, str]:
    return {
        "ok": _("Working"),
        "no_reader": _("No reader connected"),
        "no_service": _("Card service not running"),
        "error": _("Fault"),
        "paper_near_end": _("Paper nearly out"),
        "paper_out": _("Out of paper"),
        "cover_open": _("Cover open"),
        "offline": _("Not answering"),
        "unknown": _("Not reported"),
    }


def _heartbeat_seconds(request: Request) -> int:
    return settings_of(request).kiosk_heartbeat_seconds


def _context(request: Request, **values: Any) -> dict[str, Any]:
    return {
        **display(request),
        "faults": fault_names(),
        "states": state_names(),
        "may_manage": request.state.staff.can(MANAGE),
        **values,
    }


@page
@requires(VIEW)
def kiosks(request: Request, db: Session) -> Response:
    shown = health.all_kiosks(db, _heartbeat_seconds(request))
    context = _context(request, kiosks=shown, notice=request.session.pop(NOTICE, None))
    return render(request, "staff/terminals/list.html", context)


def _terminal(request: Request, db: Session) -> Terminal:
    found = db.get(Terminal, request.path_params["terminal_id"])
    if found is None or found.kind != registry.KIOSK:
        raise HTTPException(404)
    return found


@page
@requires(VIEW)
def kiosk(request: Request, db: Session) -> Response:
    terminal = _terminal(request, db)
    shown = health.health_of(db, terminal, _heartbeat_seconds(request))
    department = db.get(Department, terminal.department_id) if terminal.department_id else None
    context = _context(
        request,
        kiosk=shown,
        department=_department_name(request, department),
        notice=request.session.pop(NOTICE, None),
    )
    return render(request, "staff/terminals/kiosk.html", context)


def _department_name(request: Request, department: Department | None) -> str:
    if department is None:
        return ""
    return name_in(department, current_locale.get(), settings_of(request).default_locale)


def _departments(request: Request, db: Session) -> list[tuple[int, str]]:
    found = db.scalars(select(Department).order_by(Department.name))
    return [(d.id, _department_name(request, d)) for d in found]


def _code_page(request: Request, issued: registry.EnrolmentCode, new: bool) -> Response:
    # The code exists only in this answer: nothing keeps it, not even the session.
    context = _context(request, issued=issued, new=new)
    return render(request, "staff/terminals/code.html", context)


@page
@requires(MANAGE)
def kiosk_new(request: Request, db: Session) -> Response:
    form = {"code": "", "location": "", "department": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: form_text(request, name) for name in form}
        department_id = id_from(form["department"])
        staff: StaffContext = request.state.staff
        if form["department"] and department_id is None:
            errors["terminal-department"] = _("Choose a department from the list.")
        else:
            try:
                issued = registry.register(
                    db,
                    staff.actor,
                    code=form["code"],
                    location=form["location"],
                    department_id=department_id,
                )
            except registry.TerminalError as refused:
                db.rollback()
                message = _(refused.message)
                errors[f"terminal-{refused.field}"] = (
                    message % refused.values if refused.values else message
                )
            else:
                db.commit()
                return _code_page(request, issued, new=True)
        # A card number typed into a field is never shown back.
        form = {k: "" if holds_card_number(v) else v for k, v in form.items()}
    context = _context(request, form=form, errors=errors, departments=_departments(request, db))
    return render(request, "staff/terminals/new.html", context, 422 if errors else 200)


@page
@requires(MANAGE)
def kiosk_code(request: Request, db: Session) -> Response:
    terminal = _terminal(request, db)
    staff: StaffContext = request.state.staff
    issued = registry.reissue_code(db, staff.actor, terminal)
    db.commit()
    return _code_page(request, issued, new=False)


@page
@requires(MANAGE)
def kiosk_revoke(request: Request, db: Session) -> Response:
    terminal = _terminal(request, db)
    staff: StaffContext = request.state.staff
    registry.revoke(db, staff.actor, terminal, form_text(request, "reason"))
    request.session[NOTICE] = _(
        "Kiosk %(code)s is revoked: its credentials and tokens no longer work."
    ) % {"code": terminal.code}
    return redirect_to(request, "staff:terminal", terminal_id=terminal.id)


@page
@requires(MANAGE)
def kiosk_service(request: Request, db: Session) -> Response:
    terminal = _terminal(request, db)
    staff: StaffContext = request.state.staff
    in_service = form_text(request, "in_service") == "yes"
    registry.set_in_service(db, staff.actor, terminal, in_service)
    request.session[NOTICE] = (
        _("Kiosk %(code)s is back in service.")
        if in_service
        else _("Kiosk %(code)s is out of service: it shows residents its out-of-service screen.")
    ) % {"code": terminal.code}
    return redirect_to(request, "staff:terminal", terminal_id=terminal.id)
