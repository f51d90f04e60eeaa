from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, BigId, IntPk, Timestamp, UTCDateTime, enum_type


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # being tried (again)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up after a week of tries; "send again" starts over
    SKIPPED = "skipped"  # its subscription was paused when its turn came


class WebhookSubscription(Base):
    """Someone outside Paydesk told of events (`event_types`) at `url`, signed.

    No secret is stored: the signing secret is derived from the server's secret key, the
    subscription's id and its `secret_generation` (`shared.messaging.webhooks`). Rotating
    moves to the next generation; the previous one still signs until `previous_until`.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[IntPk]
    owner: Mapped[str] = mapped_column(String(120))
    owner_email: Mapped[str] = mapped_column(String(254))
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[SubscriptionStatus] = mapped_column(
        enum_type(SubscriptionStatus), default=SubscriptionStatus.ACTIVE
    )
    secret_generation: Mapped[int] = mapped_column(default=1)
    previous_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Since when every delivery failed (none delivered since); a week of it pauses.
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_reason: Mapped[str | None] = mapped_column(String(400))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class WebhookDelivery(Base):
    """One event for one subscription: its body, written when the event happened, is
    what every try (and every "send again") sends."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),)

    id: Mapped[IntPk]
    subscription_id: Mapped[int] = mapped_column(BigId, ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    response_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(400))
    created_at: Mapped[Timestamp]
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the current round of tries began (creation, or the last "send again").
    round_started_at: Mapped[Timestamp]

    subscription: Mapped[WebhookSubscription] = relationship()
