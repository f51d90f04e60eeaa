"""Outgoing webhooks: telling subscribers outside Paydesk that something happened.

`emit` is called where the event happens, in its transaction: for each active
subscription to that event type it writes a delivery, whose body (the exact bytes every
try sends) is fixed then, and an outbox message the worker sends
(`integrations/webhooks.py`). Tries back off 1 min, 5 min, 30 min, 2 h, 12 h, 24 h, then
daily; a delivery still failing a week after its round began is given up, and a
subscription none of whose deliveries got through for a week is paused and its owner
emailed. "Send again" starts a new round for one delivery or all of a time range.

Signing: each subscription's secret is derived from the server's secret key, its id
and its generation, so the database holds none. Rotating starts the next generation;
until the overlap ends, requests carry a signature by both secrets
(`Paydesk-Signature: t=…,v1=<new>,v1=<old>`), so a receiver can switch at its own pace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.config import Settings
from shared.db import utcnow
from shared.i18n import gettext_
from shared.messaging import outbox
from shared.models import (
    DeliveryStatus,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
)

WEBHOOK = "webhook"
WEBHOOK_PAUSED_EMAIL = "webhook_paused_email"
EVENT_TYPES = (
    "payment.posted",
    "payment.settled",
    "payment.voided",
    "payment.refunded",
    "payment.reversed",
    "receipt.issued",
    "support_request.created",
    "support_request.resolved",
    "exception.opened",
)
# After the n-th failed try (1-based), the next one waits this long; then daily.
RETRY_AFTER = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
    dt.timedelta(hours=24),
)
DAILY = dt.timedelta(days=1)
GIVE_UP_AFTER = dt.timedelta(days=7)
PAUSE_AFTER = dt.timedelta(days=7)
# At most this many deliveries are queued again by one "send again" for a time range.
RESEND_LIMIT = 1000


def retry_after(attempts: int) -> dt.timedelta:
    """How long after its `attempts`-th failed try a delivery is tried again."""
    return RETRY_AFTER[attempts - 1] if 1 <= attempts <= len(RETRY_AFTER) else DAILY


def signing_secret(settings: Settings, subscription_id: int, generation: int) -> str:
    message = f"webhook:{subscription_id}:{generation}".encode()
    digest = hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()
    return f"whsec_{digest}"


def secrets_in_use(
    settings: Settings, subscription: WebhookSubscription, now: dt.datetime
) -> list[str]:
    """The secrets a request is signed with now: the current one, and during a rotation's
    overlap the previous one."""
    found = [signing_secret(settings, subscription.id, subscription.secret_generation)]
    if subscription.previous_until is not None and now < subscription.previous_until:
        found.append(signing_secret(settings, subscription.id, subscription.secret_generation - 1))
    return found


def signature_header(secrets: Iterable[str], body: bytes, at: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` once per secret."""
    macs = [
        hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
        for secret in secrets
    ]
    return ",".join([f"t={at}", *(f"v1={mac}" for mac in macs)])


def emit(session: Session, event_type: str, data: Mapping[str, Any]) -> int:
    """Queue `event_type` with `data` for every active subscription to it, in the caller's
    transaction; returns how many deliveries were queued."""
    assert event_type in EVENT_TYPES, event_type
    subscriptions = [
        s
        for s in session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.status == SubscriptionStatus.ACTIVE
            )
        )
        if event_type in s.event_types
    ]
    if not subscriptions:
        return 0
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps(
        {"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": dict(data)},
        separators=(",", ":"),
        default=str,
    )
    for subscription in subscriptions:
        delivery = WebhookDelivery(
            subscription_id=subscription.id,
            event_id=event_id,
            event_type=event_type,
            body=body,
            created_at=now,
            round_started_at=now,
        )
        session.add(delivery)
        session.flush()
        outbox.enqueue(session, WEBHOOK, {"delivery_id": delivery.id})
    return len(subscriptions)


def send_again(
    session: Session, actor: Actor, deliveries: list[WebhookDelivery], now: dt.datetime
) -> int:
    """Start a new round of tries for each delivery (its body unchanged); audited."""
    for delivery in deliveries:
        delivery.status = DeliveryStatus.PENDING
        delivery.round_started_at = now
        outbox.enqueue(session, WEBHOOK, {"delivery_id": delivery.id})
    if deliveries:
        audit.record(
            session,
            actor,
            audit.AuditAction.WEBHOOK_SENT_AGAIN,
            "webhook_subscription",
            str(deliveries[0].subscription_id),
            {"deliveries": [d.id for d in deliveries]},
        )
    return len(deliveries)


def in_range(
    session: Session, subscription_id: int, start: dt.datetime, end: dt.datetime
) -> list[WebhookDelivery]:
    """The subscription's deliveries of events that happened in [start, end)."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.created_at >= start,
                WebhookDelivery.created_at < end,
            )
            .order_by(WebhookDelivery.id)
            .limit(RESEND_LIMIT)
        )
    )


# -- subscriptions, as an administrator manages them -------------------------------------


class SubscriptionRefused(Exception):
    """A field that cannot be saved as typed; `message` is already in the reader's words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def checked(
    owner: str, owner_email: str, url: str, event_types: list[str], messages: Mapping[str, str]
) -> tuple[str, str, str, list[str]]:
    """The fields as they will be saved, or SubscriptionRefused with `messages[<problem>]`."""
    owner, owner_email, url = owner.strip(), owner_email.strip(), url.strip()
    for field, value in (("owner", owner), ("owner_email", owner_email), ("url", url)):
        if holds_card_number(value):
            # Refused before anything is kept: a card number is never stored, even by mistake.
            raise SubscriptionRefused(field, gettext_(CARD_NUMBER_REFUSED))
    if not owner or len(owner) > 120:
        raise SubscriptionRefused("owner", messages["owner"])
    name, _, domain = owner_email.partition("@")
    if not name or "." not in domain or len(owner_email) > 254 or " " in owner_email:
        raise SubscriptionRefused("owner_email", messages["owner_email"])
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise SubscriptionRefused("url", messages["url"])
    chosen = [e for e in EVENT_TYPES if e in event_types]
    if not chosen or len(chosen) != len(set(event_types)):
        raise SubscriptionRefused("events", messages["events"])
    return owner, owner_email, url, chosen


def subscribe(
    session: Session,
    actor: Actor,
    fields: tuple[str, str, str, list[str]],
) -> WebhookSubscription:
    owner, owner_email, url, events = fields
    subscription = WebhookSubscription(
        owner=owner, owner_email=owner_email, url=url, event_types=events, created_by=actor.id
    )
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.WEBHOOK_SUBSCRIBED,
        "webhook_subscription",
        str(subscription.id),
        {"owner": owner, "url": url, "events": events},
    )
    return subscription


def change(
    session: Session,
    actor: Actor,
    subscription: WebhookSubscription,
    fields: tuple[str, str, str, list[str]],
    active: bool,
) -> None:
    owner, owner_email, url, events = fields
    before = {"url": subscription.url, "events": subscription.event_types}
    subscription.owner, subscription.owner_email = owner, owner_email
    subscription.url, subscription.event_types = url, events
    status = SubscriptionStatus.ACTIVE if active else SubscriptionStatus.PAUSED
    if status is not subscription.status:
        subscription.status = status
        subscription.failing_since = None
        subscription.paused_reason = None if active else "paused by an administrator"
    subscription.updated_at = utcnow()
    audit.record(
        session,
        actor,
        audit.AuditAction.WEBHOOK_CHANGED,
        "webhook_subscription",
        str(subscription.id),
        {"before": before, "after": {"url": url, "events": events}, "status": str(status)},
    )


def rotate(
    session: Session,
    actor: Actor,
    subscription: WebhookSubscription,
    overlap: dt.timedelta,
    now: dt.datetime,
) -> None:
    """The next secret signs from now on; the current one too, until `overlap` ends."""
    subscription.secret_generation += 1
    subscription.previous_until = now + overlap
    subscription.updated_at = now
    audit.record(
        session,
        actor,
        audit.AuditAction.WEBHOOK_SECRET_ROTATED,
        "webhook_subscription",
        str(subscription.id),
        {
            "generation": subscription.secret_generation,
            "previous_until": (now + overlap).isoformat(),
        },
    )
