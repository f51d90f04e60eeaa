from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, Timestamp, enum_type


class SourceMode(StrEnum):
    """Where a source system's balances come from."""

    LOCAL = "local"  # bills held in Paydesk
    PULL = "pull"  # Paydesk asks the system's HTTP JSON endpoint
    PUSH = "push"  # the system sends them through the integration API (to come)


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
