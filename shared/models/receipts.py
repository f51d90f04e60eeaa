from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, Code, IntPk, Timestamp
from shared.models.payments import Payment


class ReceiptSequence(Base):
    """The last receipt number issued per year; its row lock keeps numbers gap-free."""

    __tablename__ = "receipt_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: Mapped[IntPk]
    receipt_number: Mapped[Code] = mapped_column(unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    issued_at: Mapped[Timestamp]

    payment: Mapped[Payment] = relationship()
    deliveries: Mapped[list[ReceiptDelivery]] = relationship(order_by="ReceiptDelivery.id")


class ReceiptDelivery(Base):
    """Each time a receipt was shown, printed, emailed or resent."""

    __tablename__ = "receipt_deliveries"

    id: Mapped[IntPk]
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    destination: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="done")
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[Timestamp]
