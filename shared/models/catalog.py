from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, Code, IntPk


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))

    fee_types: Mapped[list[FeeType]] = relationship(back_populates="department")


class FeeType(Base):
    __tablename__ = "fee_types"
    __table_args__ = (UniqueConstraint("department_id", "code"),)

    id: Mapped[IntPk]
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[Code]
    name: Mapped[str] = mapped_column(String(200))
    gl_account: Mapped[str] = mapped_column(String(64))
    # Fines and permits are all-or-nothing; taxes and utility bills accept part payments.
    allows_partial: Mapped[bool] = mapped_column(default=True)

    department: Mapped[Department] = relationship(back_populates="fee_types")
