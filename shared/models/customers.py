from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    ForeignKey,
    Index,
    String,
    delete,
    event,
    insert,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship
from sqlalchemy.orm.attributes import get_history

from shared.db import Base, Code, IntPk, Minor, Timestamp, UTCDateTime, enum_type
from shared.models.catalog import Department, FeeType
from shared.search_terms import TERM_LENGTH, customer_terms


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


# Byte order on PostgreSQL whatever the database's locale, so "terms starting with p" is
# one contiguous range of the index (SQLite compares bytes already).
SearchTerm = String(TERM_LENGTH).with_variant(String(TERM_LENGTH, collation="C"), "postgresql")


class CustomerSearchTerm(Base):
    """One term a customer can be found by (see `shared.search_terms`).

    Kept up to date by the flush events below when a `Customer` object is added or
    changed. A Core or bulk `insert(Customer)` / `update(Customer)` skips them: such a
    writer (the seed) writes `search_term_rows` itself.
    """

    __tablename__ = "customer_search_terms"
    __table_args__ = (
        Index("ix_customer_search_terms_customer_term", "customer_id", "term"),
        # The table is its (term, customer_id) index on SQLite: no rowid to look up.
        {"sqlite_with_rowid": False},
    )

    term: Mapped[str] = mapped_column(SearchTerm, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )


def search_term_rows(
    customer_id: int, name: str | None, email: str | None, phone: str | None
) -> list[dict[str, Any]]:
    """The `customer_search_terms` rows of one customer, for a bulk insert."""
    return [
        {"term": term, "customer_id": customer_id}
        for term in sorted(customer_terms(name, email, phone))
    ]


def _write_terms(connection: Connection, customer: Customer) -> None:
    rows = search_term_rows(customer.id, customer.name, customer.email, customer.phone)
    if rows:
        connection.execute(insert(CustomerSearchTerm), rows)


@event.listens_for(Customer, "after_insert")
def _index_new_customer(
    _mapper: Mapper[Customer], connection: Connection, target: Customer
) -> None:
    _write_terms(connection, target)


@event.listens_for(Customer, "after_update")
def _reindex_changed_customer(
    _mapper: Mapper[Customer], connection: Connection, target: Customer
) -> None:
    if not any(get_history(target, name).has_changes() for name in ("name", "email", "phone")):
        return
    connection.execute(
        delete(CustomerSearchTerm).where(CustomerSearchTerm.customer_id == target.id)
    )
    _write_terms(connection, target)


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
    # The source system's own time for the balance last pulled from it: an answer older
    # than this (two refreshes crossing) never overwrites a newer one.
    source_as_of: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The push API's ordering: the system's own version of the account last applied.
    source_version: Mapped[int | None] = mapped_column(BigInteger)
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
    # The month a bill is for, when its description is only "<fee type> — <month>": then
    # the description is written in the reader's language (shared.catalog_names), not
    # read from `description` (kept, in the default language, for exports and systems).
    period: Mapped[dt.date | None] = mapped_column(Date)
    amount_due: Mapped[Minor]
    amount_paid: Mapped[Minor] = mapped_column(default=0)
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_type(InvoiceStatus),
        default=InvoiceStatus.OPEN,
    )
    issued_at: Mapped[Timestamp]
    # The push API's ordering: the source system's version of the bill last applied (an
    # older one is never applied over it).
    source_version: Mapped[int | None] = mapped_column(BigInteger)

    account: Mapped[Account] = relationship(back_populates="invoices")
    fee_type: Mapped[FeeType] = relationship()

    @property
    def owing(self) -> int:
        return max(self.amount_due - self.amount_paid, 0)
