"""Help answers the widget shows, as data: translatable and edited by an administrator."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, IntPk, Timestamp


class HelpTopic(Base):
    """A help answer the widget shows: a general question (`situation` None) or the
    guidance for one live state of a payment ("confirming", "settled" …). Text in each
    language, edited by an administrator; the facts (amounts, dates) come from the code."""

    __tablename__ = "help_topics"

    id: Mapped[IntPk]
    key: Mapped[str] = mapped_column(String(40), unique=True)
    situation: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_fr: Mapped[str] = mapped_column(String(200))
    title_es: Mapped[str] = mapped_column(String(200))
    body_en: Mapped[str] = mapped_column(Text)
    body_fr: Mapped[str] = mapped_column(Text)
    body_es: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[Timestamp]
    updated_by: Mapped[str | None] = mapped_column(String(100))

    def title(self, locale: str) -> str:
        return str(getattr(self, f"title_{locale}", None) or self.title_en)

    def body(self, locale: str) -> str:
        return str(getattr(self, f"body_{locale}", None) or self.body_en)
