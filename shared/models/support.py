"""Support requests: interactions that arrive from the help widget or a kiosk and wait in
the team queue without an assignee (the interaction's `staff_user_id`) until someone
takes them. Their history is append-only."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, IntPk, Timestamp, UTCDateTime, enum_type
from shared.models.interactions import Interaction


class SupportStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"  # on the customer: the SLA clocks stop
    RESOLVED = "resolved"
    CLOSED = "closed"


class SupportPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ContactMethod(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class SupportRequestSequence(Base):
    """The last support reference issued per year; its row lock keeps numbers gap-free."""

    __tablename__ = "support_request_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class SupportRequest(Base):
    __tablename__ = "support_requests"
    __table_args__ = (
        # The queue: a status, oldest first.
        Index("ix_support_requests_status_created", "status", "created_at"),
    )

    id: Mapped[IntPk]
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[SupportStatus] = mapped_column(
        enum_type(SupportStatus), default=SupportStatus.NEW
    )
    priority: Mapped[SupportPriority] = mapped_column(enum_type(SupportPriority))
    created_at: Mapped[Timestamp]
    # Who wrote in, and how they want an answer. Card numbers are masked in `message`.
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_locale: Mapped[str] = mapped_column(String(5))
    contact_method: Mapped[ContactMethod] = mapped_column(enum_type(ContactMethod))
    topic: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    # What the page was about, as the server signed it (the records are also linked).
    context_kind: Mapped[str | None] = mapped_column(String(20))
    context_reference: Mapped[str | None] = mapped_column(String(64))
    # What the person typed themselves: shown to staff as not verified.
    unverified_reference: Mapped[str | None] = mapped_column(String(64))
    terminal_code: Mapped[str | None] = mapped_column(String(64))
    terminal_location: Mapped[str | None] = mapped_column(String(200))
    # The department the context belongs to: the queue's filter and department limits.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # SLA: due and "at risk" times, moved later by every pause (shared.interactions.sla).
    first_response_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_response_risk_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolution_risk_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    interaction: Mapped[Interaction] = relationship()
    events: Mapped[list[SupportRequestEvent]] = relationship(
        order_by="SupportRequestEvent.id", viewonly=True
    )


class SupportRequestEvent(Base):
    """One line of a request's history. Append-only: never updated or deleted."""

    __tablename__ = "support_request_events"

    id: Mapped[IntPk]
    request_id: Mapped[int] = mapped_column(ForeignKey("support_requests.id"), index=True)
    at: Mapped[Timestamp]
    # "staff:alice", "citizen:widget", "terminal:KIOSK-01", "system:paydesk"
    actor: Mapped[str] = mapped_column(String(100))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
