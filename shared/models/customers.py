from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, Code, IntPk, Minor, Timestamp, UTCDateTime, enum_type
from shared.models.catalog import Department, FeeType


class AccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    HOLD = "hold"
    COLLECTIONS = "collections"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[IntPk]
    customer_number: Mapped[Code] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    preferred_locale: Mapped[str] = mapped_column(String(8), default="en")
    external_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[Timestamp]

    accounts: Mapped[list[Account]] = relationship(back_populates="customer")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[IntPk]
    account_number: Mapped[Code] = mapped_column(unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source_system: Mapped[str] = mapped_column(String(40), default="local")
    status: Mapped[AccountStatus] = mapped_column(
        enum_type(AccountStatus),
        default=AccountStatus.ACTIVE,
    )
    status_reason: Mapped[str | None] = mapped_column(String(400))
    # The second factor printed on the bill, checked in constant time by the portal.
    access_code: Mapped[str] = mapped_column(String(32))
    balance: Mapped[Minor] = mapped_column(default=0)
    balance_as_of: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[Timestamp]

    customer: Mapped[Customer] = relationship(back_populates="accounts")
    department: Mapped[Department] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(back_populates="account")


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[IntPk]
    invoice_number: Mapped[Code] = mapped_column(unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    fee_type_id: Mapped[int] = mapped_column(ForeignKey("fee_types.id"))
    description: Mapped[str] = mapped_column(String(400))
    amount_due: Mapped[Minor]
    amount_paid: Mapped[Minor] = mapped_column(default=0)
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_type(InvoiceStatus),
        default=InvoiceStatus.OPEN,
    )
    issued_at: Mapped[Timestamp]

    account: Mapped[Account] = relationship(back_populates="invoices")
    fee_type: Mapped[FeeType] = relationship()

    @property
    def owing(self) -> int:
        return max(self.amount_due - self.amount_paid, 0)
