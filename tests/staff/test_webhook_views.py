"""Webhook subscriptions in the staff console: an administrator subscribes an address to
events (bad input told field by field), gives its owner the secret, reads the delivery
log, sends deliveries again (one, or some days' worth) and rotates the secret."""

from __future__ import annotations

import re

from sqlalchemy import select

from shared.actors import SYSTEM
from shared.db import transaction
from shared.exceptions import cases
from shared.messaging import webhooks
from shared.models import (
    AuditEvent,
    ExceptionKind,
    OutboxMessage,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.staff.conftest import Console, post, signed_in

FORM = {
    "owner": "CRM team",
    "owner_email": "crm@example.org",
    "url": "https://crm.example.org/paydesk",
    "events": ["exception.opened", "payment.posted"],
}


def test_an_administrator_subscribes_and_manages_deliveries(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    refused = post(admin, "/staff/admin/webhooks", {**FORM, "owner_email": "nope", "url": "x"})
    assert refused.status_code == 422
    assert "Enter the owner&#39;s email address" in refused.text
    made = post(admin, "/staff/admin/webhooks", FORM)  # type: ignore[arg-type]
    assert made.status_code == 303
    page_url = made.headers["location"]
    with console.factory() as db:
        subscription = db.scalars(
            select(WebhookSubscription).order_by(WebhookSubscription.id.desc())
        ).first()
        assert subscription is not None
        assert subscription.event_types == ["payment.posted", "exception.opened"]
        secret = webhooks.signing_secret(console.runtime.settings, subscription.id, 1)
    page = admin.get(page_url)
    assert "The subscription is made." in page.text and secret in page.text
    assert "Nothing sent yet." in page.text

    with transaction(console.factory) as db:
        case = cases.open_case(db, SYSTEM, ExceptionKind.POSSIBLE_DUPLICATE, "webhook-views")
    with console.factory() as db:
        delivery = db.scalars(
            select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
        ).one()
        assert '"subject":"webhook-views"' in delivery.body and str(case.id) in delivery.body
    log = admin.get(page_url).text
    assert "exception.opened" in log and "Being sent" in log

    again = post(admin, f"/staff/admin/webhooks/{subscription.id}/deliveries/{delivery.id}/again")
    assert again.status_code == 303
    assert "queued to be sent again" in admin.get(page_url).text
    today = delivery.created_at.date().isoformat()
    again_url = f"/staff/admin/webhooks/{subscription.id}/again"
    days = post(admin, again_url, {"from": today, "to": today})
    assert days.status_code == 303
    assert "1 deliveries are queued to be sent again." in admin.get(page_url).text
    wrong = post(admin, again_url, {"from": "soon"})
    assert wrong.status_code == 303
    assert "Enter the first and the last day" in admin.get(page_url).text
    with console.factory() as db:
        queued = db.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == webhooks.WEBHOOK)
        ).all()
        assert sum(m.payload["delivery_id"] == delivery.id for m in queued) == 3

    rotated = post(admin, f"/staff/admin/webhooks/{subscription.id}/rotate")
    assert rotated.status_code == 303
    shown = admin.get(page_url).text
    new = webhooks.signing_secret(console.runtime.settings, subscription.id, 2)
    assert new in shown and secret in shown and "the previous one, until" in shown

    paused = post(admin, page_url, {**FORM, "events": ["exception.opened"]})  # type: ignore[arg-type]
    assert paused.status_code == 303
    assert re.search(r"Paused: no events are sent\.", admin.get(page_url).text)
    with console.factory() as db:
        actions = set(
            db.scalars(
                select(AuditEvent.action).where(AuditEvent.object_type == "webhook_subscription")
            )
        )
    assert actions >= {
        "integration:webhook:subscribed",
        "integration:webhook:sent_again",
        "integration:webhook:secret_rotated",
        "integration:webhook:changed",
    }


def test_only_administrators_manage_webhooks(console: Console) -> None:
    supervisor, _ = signed_in(console, ["supervisor"])
    assert supervisor.get("/staff/admin/webhooks").status_code == 403
    assert post(supervisor, "/staff/admin/webhooks", FORM).status_code == 403  # type: ignore[arg-type]
    admin, _ = signed_in(console, ["admin"])
    assert admin.get("/staff/admin/webhooks/999999").status_code == 404
