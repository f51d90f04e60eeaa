from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, IntPk, Minor, Timestamp, enum_type


class CorrectionKind(StrEnum):
    REFUND = "refund"
    VOID = "void"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"


class Correction(Base):
    """One corrective action carried out: money back to a payer (refund, void), money
    taken back by the bank (reversal), or an account corrected (adjustment). Its lines
    say, per bill and GL account, what changed; the approval request says who asked,
    why, and who approved."""

    __tablename__ = "corrections"

    id: Mapped[IntPk]
    kind: Mapped[CorrectionKind] = mapped_column(enum_type(CorrectionKind))
    approval_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Minor]
    gateway_reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[Timestamp]

    lines: Mapped[list[CorrectionLine]] = relationship(order_by="CorrectionLine.id")


class CorrectionLine(Base):
    """What a correction changed on one bill (or account) and GL account. `amount` is
    signed as the bill sees it: negative takes money off what was paid (the bill owes it
    again, or a credit is paid out), positive adds to what is owed (a debit adjustment)."""

    __tablename__ = "correction_lines"

    id: Mapped[IntPk]
    correction_id: Mapped[int] = mapped_column(ForeignKey("corrections.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    credit_id: Mapped[int | None] = mapped_column(ForeignKey("account_credits.id"))
    gl_account: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Minor]
