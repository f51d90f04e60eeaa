from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, Code, IntPk, Timestamp, UTCDateTime

role_permissions = Table(
    "role_permissions",
    Base.metadata,
    Column("role_id", ForeignKey("roles.id"), primary_key=True),
    Column("permission_code", ForeignKey("permissions.code"), primary_key=True),
)


class Permission(Base):
    __tablename__ = "permissions"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[IntPk]
    name: Mapped[Code] = mapped_column(unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")

    permissions: Mapped[list[Permission]] = relationship(secondary=role_permissions)


class AccessStamp(Base):
    """One row: a random stamp that database triggers replace whenever roles, their
    permissions or role assignments change (migration 0010).

    Staff permissions are cached per process under this stamp, and the stamp is read with
    the user on every request: a change to anyone's access, by any process or by hand in
    SQL, is seen on the next request. Random, not a counter, so a rolled-back change can
    never give a stamp that a later, different change reuses."""

    __tablename__ = "access_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(String(36))


class StaffUser(Base):
    __tablename__ = "staff_users"
    # A unique index, not a constraint: SQLite adds an index in place (migration 0013).
    __table_args__ = (
        Index("ix_staff_users_sso_identity", "sso_issuer", "sso_subject", unique=True),
    )

    id: Mapped[IntPk]
    username: Mapped[Code] = mapped_column(unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is good once, not for its whole window.
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Set when an admin resets the password: the user must choose their own at sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Who they are at the single sign-on IdP (the ID token's iss and sub), bound at their
    # first sign-in there or by an administrator: SSO finds them by this, never by name.
    sso_issuer: Mapped[str | None] = mapped_column(String(300))
    sso_subject: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[Timestamp]

    assignments: Mapped[list[RoleAssignment]] = relationship(back_populates="user")


class RoleAssignment(Base):
    """A role given to a user, optionally limited to one department."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role_id", "department_id"),)

    id: Mapped[IntPk]
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))

    user: Mapped[StaffUser] = relationship(back_populates="assignments")
    role: Mapped[Role] = relationship()


class Terminal(Base):
    """A kiosk or a counter device: where it is, how it signs in, how healthy it is."""

    __tablename__ = "terminals"

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # The OAuth2 client secret, hashed (shared.terminals.credentials); None until enrolled.
    credential_hash: Mapped[str | None] = mapped_column(String(200))
    last_heartbeat: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    health: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A kiosk limited to one department's bills; None: every department.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # OAuth2 client id once enrolled; a new enrolment or a revocation replaces it, which
    # ends every access token issued to the old one at once.
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The one-time enrolment code, hashed, and when it stops working.
    enrolment_code_hash: Mapped[str | None] = mapped_column(String(64))
    enrolment_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    registered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Staff can take a working kiosk out of service (its heartbeat answer says so).
    in_service: Mapped[bool] = mapped_column(default=True, server_default=true())
