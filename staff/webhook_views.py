"""Webhook subscriptions in the staff console (`admin:integrations`, until the integration
API lets clients manage their own): subscribe an address to events, change or pause it,
rotate its signing secret, read its delivery log and send deliveries again. Every
change is audited (`shared.messaging.webhooks`)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.db import utcnow
from shared.i18n import gettext_ as _
from shared.messaging import webhooks
from shared.models import WebhookDelivery, WebhookSubscription
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.payment_views import display
from staff.templating import render
from staff.web import form_text, id_from, redirect_to, settings_of

PERMISSION = "admin:integrations"
NOTICE = "staff_webhooks_notice"
LOG_PAGE = 50


def _messages() -> dict[str, str]:
    return {
        "owner": _("Enter who owns this subscription (a team or a system)."),
        "owner_email": _("Enter the owner's email address, like name@example.org."),
        "url": _("Enter the address to send events to, starting with https://."),
        "events": _("Choose at least one event."),
    }


def event_names() -> dict[str, str]:
    return {
        "payment.posted": _("A payment is posted"),
        "payment.settled": _("A payment is settled"),
        "payment.voided": _("A payment is voided"),
        "payment.refunded": _("A payment is refunded (in full or in part)"),
        "payment.reversed": _("A payment is reversed (chargeback, returned cheque)"),
        "receipt.issued": _("A receipt is issued"),
        "support_request.created": _("A support request is made"),
        "support_request.resolved": _("A support request is resolved"),
        "exception.opened": _("An exception is opened"),
    }


def _fields(request: Request) -> tuple[dict[str, Any], tuple[str, str, str, list[str]]]:
    typed: dict[str, Any] = {
        name: form_text(request, name) for name in ("owner", "owner_email", "url")
    }
    typed["events"] = request.state.form.getlist("events")
    fields = webhooks.checked(
        typed["owner"], typed["owner_email"], typed["url"], typed["events"], _messages()
    )
    return typed, fields


@page
@requires(PERMISSION)
def subscriptions(request: Request, db: Session) -> Response:
    staff: StaffContext = request.state.staff
    form: dict[str, Any] = {"owner": "", "owner_email": "", "url": "", "events": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            form, fields = _fields(request)
            made = webhooks.subscribe(db, staff.actor, fields)
        except webhooks.SubscriptionRefused as refused:
            db.rollback()
            errors = {f"webhook-{refused.field}": refused.message}
        else:
            request.session[NOTICE] = _("The subscription is made. Give its owner the secret.")
            return redirect_to(request, "staff:admin_webhook", subscription_id=made.id)
    context: dict[str, Any] = {
        "subscriptions": list(
            db.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
        ),
        "events": event_names(),
        "form": form,
        "errors": errors,
        "notice": request.session.pop(NOTICE, None),
    }
    return render(request, "staff/admin/webhooks.html", context, 422 if errors else 200)


def _subscription(request: Request, db: Session) -> WebhookSubscription:
    found = db.get(WebhookSubscription, request.path_params["subscription_id"])
    if found is None:
        raise HTTPException(404)
    return found


@page
@requires(PERMISSION)
def subscription(request: Request, db: Session) -> Response:
    found = _subscription(request, db)
    staff: StaffContext = request.state.staff
    settings = settings_of(request)
    form: dict[str, Any] = {
        "owner": found.owner,
        "owner_email": found.owner_email,
        "url": found.url,
        "events": list(found.event_types),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            form, fields = _fields(request)
            webhooks.change(db, staff.actor, found, fields, form_text(request, "active") == "yes")
        except webhooks.SubscriptionRefused as refused:
            db.rollback()
            errors = {f"webhook-{refused.field}": refused.message}
        else:
            request.session[NOTICE] = _("The subscription is saved.")
            return redirect_to(request, "staff:admin_webhook", subscription_id=found.id)
    before = id_from(request.query_params.get("before", ""))
    statement = select(WebhookDelivery).where(WebhookDelivery.subscription_id == found.id)
    if before is not None:
        statement = statement.where(WebhookDelivery.id < before)
    log = list(db.scalars(statement.order_by(WebhookDelivery.id.desc()).limit(LOG_PAGE + 1)))
    now = utcnow()
    context: dict[str, Any] = {
        **display(request),
        "subscription": found,
        "secrets": webhooks.secrets_in_use(settings, found, now),
        "events": event_names(),
        "form": form,
        "errors": errors,
        "log": log[:LOG_PAGE],
        "older": log[LOG_PAGE - 1].id if len(log) > LOG_PAGE else None,
        "notice": request.session.pop(NOTICE, None),
        "overlap_hours": settings.webhook_secret_overlap_hours,
    }
    return render(request, "staff/admin/webhook.html", context, 422 if errors else 200)


@page
@requires(PERMISSION)
def rotate(request: Request, db: Session) -> Response:
    found = _subscription(request, db)
    hours = settings_of(request).webhook_secret_overlap_hours
    webhooks.rotate(db, request.state.staff.actor, found, dt.timedelta(hours=hours), utcnow())
    request.session[NOTICE] = _(
        "A new secret signs from now on. The old one signs too for %(hours)s hours."
    ) % {"hours": hours}
    return redirect_to(request, "staff:admin_webhook", subscription_id=found.id)


@page
@requires(PERMISSION)
def send_one_again(request: Request, db: Session) -> Response:
    found = _subscription(request, db)
    delivery = db.get(WebhookDelivery, request.path_params["delivery_id"])
    if delivery is None or delivery.subscription_id != found.id:
        raise HTTPException(404)
    webhooks.send_again(db, request.state.staff.actor, [delivery], utcnow())
    request.session[NOTICE] = _("The delivery is queued to be sent again.")
    return redirect_to(request, "staff:admin_webhook", subscription_id=found.id)


def _day(text: str, zone: ZoneInfo) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time(), tzinfo=zone)
    except ValueError:
        return None


@page
@requires(PERMISSION)
def send_range_again(request: Request, db: Session) -> Response:
    found = _subscription(request, db)
    zone = ZoneInfo(settings_of(request).timezone)
    start = _day(form_text(request, "from"), zone)
    last = _day(form_text(request, "to"), zone)
    if start is None or last is None or last < start:
        request.session[NOTICE] = _(
            "Enter the first and the last day of the events to send again, like 2026-12-01."
        )
        return redirect_to(request, "staff:admin_webhook", subscription_id=found.id)
    chosen = webhooks.in_range(db, found.id, start, last + dt.timedelta(days=1))
    count = webhooks.send_again(db, request.state.staff.actor, chosen, utcnow())
    request.session[NOTICE] = _("%(count)s deliveries are queued to be sent again.") % {
        "count": count
    }
    return redirect_to(request, "staff:admin_webhook", subscription_id=found.id)
