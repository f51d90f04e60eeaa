from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, Timestamp, UTCDateTime, enum_type, utcnow


class SessionKind(StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"
    KIOSK = "kiosk"


class WebSession(Base):
    """A browser session kept on the server; the browser only holds a random id.

    The key is the SHA-256 of that id, so a copy of this table cannot be replayed
    as cookies.
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[SessionKind] = mapped_column(enum_type(SessionKind), default=SessionKind.CITIZEN)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # No foreign key: a session outlives nothing, and "log out everywhere" only needs the index.
    staff_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[Timestamp]
    # Indexed for the purge of abandoned sessions.
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
