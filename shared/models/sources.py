from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, IntPk, Timestamp, UTCDateTime, enum_type


class SourceMode(StrEnum):
    """Where a source system's balances come from."""

    LOCAL = "local"  # bills held in Paydesk
    PULL = "pull"  # Paydesk asks the system's HTTP JSON endpoint
    PUSH = "push"  # the system sends them through the integration API (PUT /api/v1/bills/...)


class BalanceSourceSetting(Base):
    """How one source system (an account's `source_system`) supplies balances; set by an
    administrator (`admin:integrations`). A system without a row is `local`. The secret
    that signs pull requests is not here: it comes from the environment, like write-back's."""

    __tablename__ = "balance_sources"

    system: Mapped[str] = mapped_column(String(40), primary_key=True)
    mode: Mapped[SourceMode] = mapped_column(enum_type(SourceMode), default=SourceMode.LOCAL)
    url: Mapped[str | None] = mapped_column(String(500))
    timeout_ms: Mapped[int] = mapped_column(default=2000)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[Timestamp]


class IntegrationClient(Base):
    """A back-end system's OAuth2 client (shared.integration_clients): registered by an
    administrator with scopes and an optional department; the secret is kept hashed."""

    __tablename__ = "integration_clients"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(120))
    # None once revoked: every access token issued to it stops at once.
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
