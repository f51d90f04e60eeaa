"""The staff home page: who is signed in, and what is due."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from shared import interactions
from shared.web.endpoint import page
from staff.access import SIGNED_IN, StaffContext, requires
from staff.interaction_views import today
from staff.templating import render


@page
@requires(SIGNED_IN)
def home(request: Request, db: Session) -> Response:
    staff: StaffContext = request.state.staff
    follow_ups = interactions.follow_ups_for(db, staff.user.id)
    context = {"roles": staff.permissions.roles, "follow_ups": follow_ups, "today": today(request)}
    return render(request, "staff/home.html", context)
