from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, BigId, Code, IntPk, Minor, Timestamp, UTCDateTime, enum_type
from shared.models.customers import Customer


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    POSTED = "posted"
    SETTLED = "settled"
    DECLINED = "declined"
    FAILED = "failed"
    UNKNOWN = "unknown"
    VOIDED = "voided"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REVERSED = "reversed"


class Channel(StrEnum):
    PORTAL = "portal"
    KIOSK = "kiosk"
    COUNTER = "counter"
    API = "api"


class Tender(StrEnum):
    CARD = "card"
    CASH = "cash"
    CHEQUE = "cheque"


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        # Staff search and its filters page newest first with (created_at, id) keysets.
        Index("ix_payments_status_created", "status", "created_at"),
        Index("ix_payments_created_id", "created_at", "id"),
        Index("ix_payments_customer_created_id", "customer_id", "created_at", "id"),
        Index("ix_payments_card_last4_amount", "card_last4", "amount"),
        Index("ix_payments_terminal_created", "terminal_id", "created_at"),
        Index("ix_payments_payer_email", "payer_email"),
    )

    id: Mapped[IntPk]
    transaction_id: Mapped[Code] = mapped_column(unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    amount: Mapped[Minor]
    currency: Mapped[str] = mapped_column(String(3))
    tender: Mapped[Tender] = mapped_column(enum_type(Tender))
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus))
    # Card payments keep only what PCI allows: brand, last 4, expiry, the gateway's references.
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_exp_month: Mapped[int | None]
    card_exp_year: Mapped[int | None]
    gateway: Mapped[str | None] = mapped_column(String(40))
    gateway_token: Mapped[str | None] = mapped_column(String(100))
    gateway_reference: Mapped[str | None] = mapped_column(String(100))
    decline_code: Mapped[str | None] = mapped_column(String(40))
    status_reason: Mapped[str | None] = mapped_column(String(400))
    cash_tendered: Mapped[int | None] = mapped_column(BigId)
    change_due: Mapped[int | None] = mapped_column(BigId)
    cheque_number: Mapped[str | None] = mapped_column(String(40))
    payer_email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    refunded_amount: Mapped[Minor] = mapped_column(default=0)
    settlement_batch: Mapped[str | None] = mapped_column(String(40))
    # The cashier's drawer a counter cash or cheque payment went into (`shared.finance`).
    drawer_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("drawer_sessions.id"), index=True
    )
    created_at: Mapped[Timestamp]
    authorized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    posted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[Timestamp]

    customer: Mapped[Customer | None] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", order_by="Allocation.id"
    )
    history: Mapped[list[PaymentStatusChange]] = relationship(order_by="PaymentStatusChange.id")


class Allocation(Base):
    """The part of a payment applied to one invoice; a payment's allocations sum to it."""

    __tablename__ = "allocations"
    # The department filter and department-limited staff go from department to payments.
    __table_args__ = (Index("ix_allocations_department_payment", "department_id", "payment_id"),)

    id: Mapped[IntPk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    fee_type_id: Mapped[int] = mapped_column(ForeignKey("fee_types.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    gl_account: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Minor]

    payment: Mapped[Payment] = relationship(back_populates="allocations")


class PaymentStatusChange(Base):
    """Append-only history of a payment's states."""

    __tablename__ = "payment_status_changes"

    id: Mapped[IntPk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    from_status: Mapped[PaymentStatus | None] = mapped_column(enum_type(PaymentStatus))
    to_status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus))
    at: Mapped[Timestamp]
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(400))


class IdempotencyRecord(Base):
    """One row per money-moving request key: the request's fingerprint and what it made."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[IntPk]
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[Timestamp]
