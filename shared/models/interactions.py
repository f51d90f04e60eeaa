"""Contacts with a customer (a call, a visit to the counter, an email), their notes and
what they were about. Notes are append-only: a correction is another note."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, IntPk, Timestamp, UTCDateTime, enum_type
from shared.models.customers import Customer
from shared.models.staff import StaffUser


class InteractionChannel(StrEnum):
    CALL = "call"
    COUNTER = "counter"
    EMAIL = "email"
    # Support requests (shared.interactions.support): the help widget, a kiosk.
    WEB = "web"
    KIOSK = "kiosk"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    CALLBACK = "callback"
    ESCALATED = "escalated"
    NO_ACTION = "no_action"


class LinkKind(StrEnum):
    PAYMENT = "payment"
    RECEIPT = "receipt"
    INVOICE = "invoice"


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        # The customer view's "recent interactions", newest first.
        Index("ix_interactions_customer_started", "customer_id", "started_at"),
        # An agent's open follow-ups, soonest first.
        Index("ix_interactions_follow_up", "staff_user_id", "follow_up_done", "follow_up_due"),
        # An agent's interactions still open (ended_at NULL), on their home page.
        Index("ix_interactions_staff_open", "staff_user_id", "ended_at"),
    )

    id: Mapped[IntPk]
    # None while the caller is not identified yet (shared.interactions.contacts.identify sets it).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # Who owns it. None for a support request nobody has taken yet (the team queue's).
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    channel: Mapped[InteractionChannel] = mapped_column(enum_type(InteractionChannel))
    started_at: Mapped[Timestamp]
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[Outcome | None] = mapped_column(enum_type(Outcome))
    follow_up_due: Mapped[dt.date | None] = mapped_column(Date)
    follow_up_done: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer | None] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship()
    notes: Mapped[list[InteractionNote]] = relationship(order_by="InteractionNote.id")
    links: Mapped[list[InteractionLink]] = relationship(order_by="InteractionLink.id")

    @property
    def open(self) -> bool:
        return self.ended_at is None


class InteractionNote(Base):
    """Append-only: never updated or deleted."""

    __tablename__ = "interaction_notes"

    id: Mapped[IntPk]
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    # Card numbers are masked before the text gets here (shared.interactions.contacts.add_note).
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]

    staff_user: Mapped[StaffUser] = relationship()


class InteractionLink(Base):
    """A payment, receipt or invoice the interaction was about, by its public number."""

    __tablename__ = "interaction_links"
    __table_args__ = (
        UniqueConstraint("interaction_id", "kind", "reference"),
        # A payment's page lists the interactions that attached it (or its receipt).
        Index("ix_interaction_links_kind_reference", "kind", "reference"),
    )

    id: Mapped[IntPk]
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    kind: Mapped[LinkKind] = mapped_column(enum_type(LinkKind))
    reference: Mapped[str] = mapped_column(String(64))
    # None when the server attached it from a support request's signed context.
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[Timestamp]
