"""The help widget's words, edited by an administrator (`admin:settings`): the guidance
for each live state of a payment and the common questions, in every language. Every
change is audited (`shared.help.topics`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.help import topics
from shared.i18n import LOCALES
from shared.i18n import gettext_ as _
from shared.models import HelpTopic
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.templating import render
from staff.web import form_text, redirect_to

PERMISSION = "admin:settings"
NOTICE = "staff_help_notice"


def situation_names() -> dict[str, str]:
    return {
        "confirming": _("A payment being confirmed"),
        "posted": _("A payment received, not settled yet"),
        "settled": _("A payment complete"),
        "duplicate": _("A possible duplicate charge"),
        "balance_showing": _("A balance still showing after paying"),
        "not_taken": _("A payment that did not go through"),
        "corrected": _("A payment cancelled, refunded or reversed"),
    }


@page
@requires(PERMISSION)
def help_topics(request: Request, db: Session) -> Response:
    context = {
        "topics": topics.all_topics(db),
        "situations": situation_names(),
        "notice": request.session.pop(NOTICE, None),
    }
    return render(request, "staff/admin/help.html", context)


def _topic(request: Request, db: Session) -> HelpTopic:
    found = db.get(HelpTopic, request.path_params["topic_id"])
    if found is None:
        raise HTTPException(404)
    return found


def _fields() -> list[str]:
    return [f"{part}_{locale}" for locale in LOCALES for part in ("title", "body")]


@page
@requires(PERMISSION)
def help_topic(request: Request, db: Session) -> Response:
    topic = _topic(request, db)
    form = {name: str(getattr(topic, name)) for name in _fields()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: form_text(request, name) for name in _fields()}
        staff: StaffContext = request.state.staff
        messages = {
            "missing": _("Write it in every language."),
            "too_long": _("Keep it under %(max)s characters."),
        }
        try:
            topics.update(
                db, staff.actor, topic, form, form_text(request, "active") == "yes", messages
            )
        except topics.TopicRefused as refused:
            db.rollback()
            errors = {refused.field: refused.message}
        else:
            request.session[NOTICE] = _("The help topic is saved.")
            return redirect_to(request, "staff:admin_help")
    context: dict[str, Any] = {
        "topic": topic,
        "form": form,
        "errors": errors,
        "situations": situation_names(),
    }
    return render(request, "staff/admin/help_topic.html", context, 422 if errors else 200)
