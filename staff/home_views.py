"""The staff home page: who is signed in, and what is due."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from shared.web.endpoint import page
from staff.access import SIGNED_IN, StaffContext, requires
from staff.templating import render


@page
@requires(SIGNED_IN)
def home(request: Request, db: Session) -> Response:
    staff: StaffContext = request.state.staff
    # Follow-ups come with the interactions work; until then the list is always empty.
    context = {"roles": staff.permissions.roles, "follow_ups": []}
    return render(request, "staff/home.html", context)
