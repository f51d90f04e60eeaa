from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, IntPk, Timestamp, UTCDateTime, enum_type


class ExceptionKind(StrEnum):
    POSSIBLE_DUPLICATE = "possible_duplicate"
    OVERPAYMENT = "overpayment"
    LONG_UNKNOWN = "long_unknown"
    SETTLEMENT_MISMATCH = "settlement_mismatch"
    WRITE_BACK_FAILING = "write_back_failing"
    REVERSAL = "reversal"
    RECONCILIATION_BREAK = "reconciliation_break"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ExceptionCase(Base):
    """Something a person must look at (see `shared.exceptions`). One per kind and subject:
    finding the same thing again does not open a second."""

    __tablename__ = "exception_cases"
    __table_args__ = (
        UniqueConstraint("kind", "subject"),
        Index("ix_exception_cases_status_opened", "status", "opened_at"),
    )

    id: Mapped[IntPk]
    kind: Mapped[ExceptionKind] = mapped_column(enum_type(ExceptionKind))
    # What it is about, as a key: "TX-…", "TX-…/TX-…" for a pair, "batch:…:TX-…".
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[ExceptionStatus] = mapped_column(
        enum_type(ExceptionStatus), default=ExceptionStatus.OPEN
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[Timestamp]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    outcome: Mapped[str | None] = mapped_column(String(40))
    outcome_note: Mapped[str | None] = mapped_column(String(1000))
