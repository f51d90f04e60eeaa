from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, IntPk, Minor, Timestamp, UTCDateTime, enum_type


class HoldOutcome(StrEnum):
    APPLIED = "applied"  # the processor approved: the payment paid the bill
    RELEASED = "released"  # declined, failed: nothing was taken, the amount is free again


class PaymentHold(Base):
    """While a card payment is in doubt, the part of one bill it would pay: held, so nobody
    pays it a second time meanwhile (see `shared.payments.holds`)."""

    __tablename__ = "payment_holds"
    # "What is held on these bills right now?" is asked before every payment.
    __table_args__ = (Index("ix_payment_holds_invoice_released", "invoice_id", "released_at"),)

    id: Mapped[IntPk]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    amount: Mapped[Minor]
    started_at: Mapped[Timestamp]
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[HoldOutcome | None] = mapped_column(enum_type(HoldOutcome))


class CreditStatus(StrEnum):
    OPEN = "open"  # money of the customer's that we hold: owed back or to be applied
    REFUNDED = "refunded"
    CANCELLED = "cancelled"  # the payment that made it was voided or reversed


class AccountCredit(Base):
    """Money received beyond what the bills owed: shown on the account and taken off its
    balance until it is refunded (or its payment voided). Never erased by a refresh."""

    __tablename__ = "account_credits"
    __table_args__ = (Index("ix_account_credits_account_status", "account_id", "status"),)

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    amount: Mapped[Minor]
    remaining: Mapped[Minor]
    gl_account: Mapped[str] = mapped_column(String(64))
    status: Mapped[CreditStatus] = mapped_column(enum_type(CreditStatus), default=CreditStatus.OPEN)
    reason: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[Timestamp]
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
