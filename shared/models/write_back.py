from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, BigId, IntPk, Minor, Timestamp, UTCDateTime, enum_type


class WriteBackStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"


class WriteBack(Base):
    """One posted payment's news for one account's source system ("these bills are paid").

    The outbox message carries the sending and its retries; this row says, per account,
    whether the source system has confirmed it: staff see "write-back pending" until then.
    """

    __tablename__ = "write_backs"
    __table_args__ = (
        # The customer view asks "anything unconfirmed for these accounts?".
        Index("ix_write_backs_account_status", "account_id", "status"),
        # One per account a payment touched, and one per account a correction of it
        # touched; the sender finds its row by the three (the correction's is NULL for
        # the payment's own news).
        UniqueConstraint("payment_id", "account_id", "correction_id"),
    )

    id: Mapped[IntPk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    correction_id: Mapped[int | None] = mapped_column(ForeignKey("corrections.id"))
    source_system: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Minor]
    status: Mapped[WriteBackStatus] = mapped_column(
        enum_type(WriteBackStatus), default=WriteBackStatus.PENDING
    )
    outbox_message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("outbox_messages.id"))
    created_at: Mapped[Timestamp]
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
