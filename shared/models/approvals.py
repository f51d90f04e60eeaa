from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, IntPk, Timestamp, UTCDateTime, enum_type


class ApprovalAction(StrEnum):
    REFUND = "refund"
    VOID = "void"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"
    OVERRIDE = "override"
    DRAWER = "drawer_over_short"  # a drawer counted over or short beyond the tolerance


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # decided; not carried out yet (or carrying it out failed)
    EXECUTED = "executed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ApprovalRequest(Base):
    """A restricted action asked for by one person and decided by another (see
    `shared.approvals`): what, about which payment or account, why, who decided, and what
    carrying it out did."""

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_status_requested", "status", "requested_at"),)

    id: Mapped[IntPk]
    action: Mapped[ApprovalAction] = mapped_column(enum_type(ApprovalAction))
    status: Mapped[ApprovalStatus] = mapped_column(
        enum_type(ApprovalStatus), default=ApprovalStatus.PENDING
    )
    # The requester's form key: a double submit finds the request it made.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("exception_cases.id"))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    # What exactly: refund lines, adjustment direction and coding, override scope.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason_code: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(String(1000))
    # None: nobody on staff asked; the card processor's settlement report did (a chargeback).
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    requested_at: Mapped[Timestamp]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_comment: Mapped[str | None] = mapped_column(String(1000))
    executed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # What carrying it out did (a processor reference), or why it could not.
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
