"""The staff home page: who is signed in, the support queue's counts, their open
interactions, and what is due."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from shared.interactions import contacts, queue
from shared.terminals import health
from shared.web.endpoint import page
from staff.access import SIGNED_IN, StaffContext, requires
from staff.interaction_views import channel_names, today
from staff.payment_views import display
from staff.templating import render
from staff.terminal_views import fault_names
from staff.web import settings_of


@page
@requires(SIGNED_IN)
def home(request: Request, db: Session) -> Response:
    staff: StaffContext = request.state.staff
    context = {
        "roles": staff.permissions.roles,
        "open_interactions": contacts.open_for(db, staff.user.id),
        "channels": channel_names(),
        "follow_ups": contacts.follow_ups_for(db, staff.user.id),
        # The support queue at a glance, for those who work it.
        "queue": queue.counts(db, staff.user.id, staff.visible())
        if staff.can("tickets:work")
        else None,
        "today": today(request),
        # Kiosks a resident cannot use now (offline, a device fault, taken out of service).
        "kiosks_down": health.out_of_service(db, settings_of(request).kiosk_heartbeat_seconds)
        if staff.can("terminals:view") or staff.can("admin:terminals")
        else [],
        "kiosk_faults": fault_names(),
        **display(request),
    }
    return render(request, "staff/home.html", context)
