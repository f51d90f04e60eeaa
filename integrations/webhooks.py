"""Sending webhooks: one signed JSON POST per delivery (`shared/messaging/webhooks.py`
writes them where events happen).

    POST <the subscription's URL>
    Content-Type: application/json
    Paydesk-Event: payment.posted
    Paydesk-Delivery: <delivery id>
    Idempotency-Key: <event id>        the body's "id": the same on every try of the event
    Paydesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">[,v1=<…>]

    {"id": "evt_…", "type": "payment.posted", "created_at": "…", "data": {…}}

A 2xx answer delivers it. Anything else, or no answer, is recorded on the delivery
(attempts, response code, error) and the next try is queued on the schedule; a delivery
failing a week after its round began is given up, and a subscription with nothing
delivered for a week is paused and its owner emailed (`webhook_paused_email`).

Each try is its own outbox message, so what a failed try recorded is kept (an outbox
handler that raises has its writes rolled back).
"""

from __future__ import annotations

import time
from email.message import EmailMessage

import httpx
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import SYSTEM
from shared.config import Settings
from shared.db import utcnow
from shared.messaging import outbox
from shared.messaging.mailer import Mailer
from shared.messaging.signing import SIGNATURE_HEADER
from shared.messaging.webhooks import (
    GIVE_UP_AFTER,
    PAUSE_AFTER,
    WEBHOOK,
    WEBHOOK_PAUSED_EMAIL,
    retry_after,
    secrets_in_use,
    signature_header,
)
from shared.models import (
    DeliveryStatus,
    OutboxMessage,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
)

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def webhook_handler(settings: Settings) -> outbox.Handler:
    """The outbox handler for `webhook` messages: one try of one delivery."""

    def handle(session: Session, message: OutboxMessage) -> None:
        delivery = session.get(WebhookDelivery, message.payload["delivery_id"])
        if delivery is None:
            raise LookupError(f"webhook delivery {message.payload['delivery_id']} is gone")
        if delivery.status is not DeliveryStatus.PENDING:
            return  # delivered meanwhile (a "send again" crossing a retry)
        subscription = delivery.subscription
        now = utcnow()
        if subscription.status is SubscriptionStatus.PAUSED:
            delivery.status = DeliveryStatus.SKIPPED
            return
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "Paydesk-Event": delivery.event_type,
            "Paydesk-Delivery": str(delivery.id),
            "Idempotency-Key": delivery.event_id,
            SIGNATURE_HEADER: signature_header(
                secrets_in_use(settings, subscription, now), body, int(time.time())
            ),
        }
        delivery.attempts += 1
        delivery.last_attempt_at = now
        try:
            answer = httpx.post(subscription.url, content=body, headers=headers, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            delivery.response_code, delivery.last_error = None, f"{type(exc).__name__}: {exc}"[:400]
        else:
            delivery.response_code = answer.status_code
            if answer.is_success:
                delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
                delivery.last_error = None
                subscription.failing_since = None
                return
            delivery.last_error = f"HTTP {answer.status_code}"
        subscription.failing_since = subscription.failing_since or now
        if now - subscription.failing_since >= PAUSE_AFTER:
            delivery.status = DeliveryStatus.FAILED
            _pause(session, subscription)
        elif now - delivery.round_started_at >= GIVE_UP_AFTER:
            delivery.status = DeliveryStatus.FAILED
        else:
            outbox.enqueue(
                session,
                WEBHOOK,
                {"delivery_id": delivery.id},
                not_before=now + retry_after(delivery.attempts),
            )

    return handle


def _pause(session: Session, subscription: WebhookSubscription) -> None:
    subscription.status = SubscriptionStatus.PAUSED
    subscription.paused_reason = "nothing delivered for a week"
    audit.record(
        session,
        SYSTEM,
        audit.AuditAction.WEBHOOK_PAUSED,
        "webhook_subscription",
        str(subscription.id),
        {"failing_since": str(subscription.failing_since), "url": subscription.url},
    )
    outbox.enqueue(session, WEBHOOK_PAUSED_EMAIL, {"subscription_id": subscription.id})


def paused_email_handler(settings: Settings, mailer: Mailer) -> outbox.Handler:
    """Tells a subscription's owner it was paused, and how to start it again."""

    def handle(session: Session, message: OutboxMessage) -> None:
        subscription = session.get(WebhookSubscription, message.payload["subscription_id"])
        if subscription is None:
            raise LookupError(f"webhook subscription {message.payload['subscription_id']}")
        email = EmailMessage()
        email["From"] = settings.mail_from
        email["To"] = subscription.owner_email
        email["Subject"] = f"{settings.org_name}: webhook paused ({subscription.url})"
        since = subscription.failing_since
        email.set_content(
            f"Hello {subscription.owner},\n\n"
            f"{settings.org_name}'s payment system could not deliver any event to\n"
            f"{subscription.url}\n"
            f"since {since.isoformat(timespec='minutes') if since else 'a week ago'} "
            "(UTC), so the subscription is paused:\n"
            "no more events are sent to it.\n\n"
            "Once the address answers again, ask an administrator to set the subscription\n"
            "active and to send the missed events again from its delivery log.\n"
        )
        mailer.send(email)

    return handle
