from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, BigId, Code, IntPk


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(unique=True)
    # In the default language (PAYDESK_DEFAULT_LOCALE); others in `translations`.
    name: Mapped[str] = mapped_column(String(200))

    fee_types: Mapped[list[FeeType]] = relationship(back_populates="department")
    # Read only for a page in another language than the default (catalog_names.name_in).
    translations: Mapped[list[DepartmentName]] = relationship(cascade="all, delete-orphan")


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
    translations: Mapped[list[FeeTypeName]] = relationship(cascade="all, delete-orphan")


class DepartmentName(Base):
    """A department's name in another language, as an administrator wrote it."""

    __tablename__ = "department_names"

    department_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("departments.id"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class FeeTypeName(Base):
    """A fee type's name in another language, as an administrator wrote it."""

    __tablename__ = "fee_type_names"

    fee_type_id: Mapped[int] = mapped_column(BigId, ForeignKey("fee_types.id"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
