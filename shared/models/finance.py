from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, IntPk, Minor, Timestamp, UTCDateTime, enum_type


class DrawerStatus(StrEnum):
    OPEN = "open"
    # Counted, but the over/short is past the tolerance: a supervisor must approve it.
    AWAITING_APPROVAL = "awaiting_approval"
    CLOSED = "closed"


class DrawerSession(Base):
    """One cashier's cash drawer from opening (with a float) to the count that closes it.
    Counter cash and cheque payments taken while it is open belong to it
    (`Payment.drawer_session_id`)."""

    __tablename__ = "drawer_sessions"
    __table_args__ = (Index("ix_drawer_sessions_staff_status", "staff_user_id", "status"),)

    id: Mapped[IntPk]
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    status: Mapped[DrawerStatus] = mapped_column(enum_type(DrawerStatus), default=DrawerStatus.OPEN)
    currency: Mapped[str] = mapped_column(String(3))
    float_amount: Mapped[Minor]
    # The opening form's key: a double submit finds the session it opened.
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    opened_at: Mapped[Timestamp]
    counted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Frozen at the count: what the drawer should hold, and what was found.
    expected_cash: Mapped[int | None] = mapped_column(BigInteger)
    expected_cheques: Mapped[int | None] = mapped_column(BigInteger)
    counted_cash: Mapped[int | None] = mapped_column(BigInteger)
    counted_cheques: Mapped[int | None] = mapped_column(BigInteger)
    # Denomination (minor units, as text) -> how many were counted.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    approval_id: Mapped[int | None] = mapped_column(
        # use_alter: approvals point at payments, which point at drawers (a cycle to sort).
        ForeignKey("approval_requests.id", use_alter=True)
    )
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"), index=True)

    @property
    def over_short(self) -> int | None:
        """Counted minus expected (negative is a shortage); None before the count."""
        if self.counted_cash is None or self.expected_cash is None:
            return None
        return (self.counted_cash + (self.counted_cheques or 0)) - (
            self.expected_cash + (self.expected_cheques or 0)
        )


class DepositKind(StrEnum):
    COUNTER = "counter"  # a bag of cash and cheques from closed drawers
    CARD = "card"  # a card settlement batch the processor pays in, net of fees


class Deposit(Base):
    """Money the bank should receive: a bag of counter cash and cheques, or a card
    settlement batch (expected net of the processor's fees)."""

    __tablename__ = "deposits"

    id: Mapped[IntPk]
    kind: Mapped[DepositKind] = mapped_column(enum_type(DepositKind))
    bag_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    business_date: Mapped[dt.date] = mapped_column(Date)
    cash: Mapped[Minor] = mapped_column(default=0)
    cheques: Mapped[Minor] = mapped_column(default=0)
    card_gross: Mapped[Minor] = mapped_column(default=0)
    card_fees: Mapped[Minor] = mapped_column(default=0)
    total: Mapped[Minor]
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[Timestamp]

    drawers: Mapped[list[DrawerSession]] = relationship(order_by="DrawerSession.id")


class SettlementBatchRecord(Base):
    """A card settlement batch as imported: what it settled, the processor's fees, and
    the deposit it becomes."""

    __tablename__ = "settlement_batches"

    id: Mapped[IntPk]
    batch_id: Mapped[str] = mapped_column(String(40), unique=True)
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    sales: Mapped[Minor]
    refunds: Mapped[Minor]
    fees: Mapped[Minor]
    net: Mapped[Minor]
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"))
    imported_at: Mapped[Timestamp]


class GlSource(StrEnum):
    PAYMENT = "payment"
    CORRECTION = "correction"
    OVER_SHORT = "over_short"
    CARD_FEES = "card_fees"


class GlEntry(Base):
    """One balanced journal entry for one thing that moved money, on the journal day it
    landed on: its own day, or the next open day when that one was exported already."""

    __tablename__ = "gl_entries"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_gl_entries_day", "journal_date"),
    )

    id: Mapped[IntPk]
    source: Mapped[GlSource] = mapped_column(enum_type(GlSource))
    source_id: Mapped[int] = mapped_column(BigInteger)
    journal_date: Mapped[dt.date] = mapped_column(Date)
    # The day it happened (local); differs from journal_date when that day was closed.
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Timestamp]

    lines: Mapped[list[GlLine]] = relationship(order_by="GlLine.id")


class GlLine(Base):
    """One debit or credit of a journal entry (one of `debit`, `credit` is zero)."""

    __tablename__ = "gl_lines"
    __table_args__ = (Index("ix_gl_lines_account", "gl_account"),)

    id: Mapped[IntPk]
    entry_id: Mapped[int] = mapped_column(ForeignKey("gl_entries.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    gl_account: Mapped[str] = mapped_column(String(64))
    debit: Mapped[Minor] = mapped_column(default=0)
    credit: Mapped[Minor] = mapped_column(default=0)
    memo: Mapped[str] = mapped_column(String(200))


class GlExport(Base):
    """A period exported: its files, exactly as downloaded the first time. Its days are
    closed: nothing more is posted to them."""

    __tablename__ = "gl_exports"

    id: Mapped[IntPk]
    first_day: Mapped[dt.date] = mapped_column(Date, unique=True)
    last_day: Mapped[dt.date] = mapped_column(Date)
    csv_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    fixed_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    debits: Mapped[Minor]
    credits: Mapped[Minor]
    exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    exported_at: Mapped[Timestamp]
