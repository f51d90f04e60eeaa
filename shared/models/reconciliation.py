"""Bank statements as imported and how their lines match expected deposits."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, BigId, IntPk, Minor, Timestamp, enum_type


class StatementFormat(StrEnum):
    BAI2 = "bai2"
    CAMT053 = "camt053"


class MatchKind(StrEnum):
    REFERENCE = "reference"
    AMOUNT = "amount"
    GROUPED = "grouped"
    MANUAL = "manual"


class BankStatement(Base):
    """One statement of one bank account, from an imported file. The same file twice, or
    the same statement of the same account, is found, never imported again."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("account", "statement_id"),)

    id: Mapped[IntPk]
    statement_id: Mapped[str] = mapped_column(String(80))
    account: Mapped[str] = mapped_column(String(64))
    format: Mapped[StatementFormat] = mapped_column(enum_type(StatementFormat))
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    statement_date: Mapped[dt.date] = mapped_column(Date)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    imported_at: Mapped[Timestamp]

    lines: Mapped[list[BankLine]] = relationship(order_by="BankLine.line_no")


class ReconciliationMatch(Base):
    """Bank lines and deposits that account for each other: one to one, several deposits
    to one credit, or one deposit paid in several credits. By hand: who and why."""

    __tablename__ = "reconciliation_matches"

    id: Mapped[IntPk]
    kind: Mapped[MatchKind] = mapped_column(enum_type(MatchKind))
    reason: Mapped[str | None] = mapped_column(String(1000))
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    matched_at: Mapped[Timestamp]


class BankLine(Base):
    """One entry of a statement: signed amount (credits positive, debits negative)."""

    __tablename__ = "bank_lines"
    __table_args__ = (Index("ix_bank_lines_unmatched", "match_id", "booking_date"),)

    id: Mapped[IntPk]
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    booking_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Minor]
    type_code: Mapped[str] = mapped_column(String(10))
    bank_reference: Mapped[str] = mapped_column(String(80), default="")
    customer_reference: Mapped[str] = mapped_column(String(80), default="")
    text: Mapped[str] = mapped_column(String(500), default="")
    match_id: Mapped[int | None] = mapped_column(ForeignKey("reconciliation_matches.id"))


class DepositMatch(Base):
    """A deposit's place in a match (at most one)."""

    __tablename__ = "deposit_matches"

    deposit_id: Mapped[int] = mapped_column(
        BigId,
        ForeignKey("deposits.id"),
        primary_key=True,
        autoincrement=False,
    )
    match_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_matches.id"), index=True)
