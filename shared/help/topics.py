"""Help topics as data: the guidance for each live state of a payment and the common
questions, in each language, edited by an administrator (every change audited). The
defaults come with the schema (migration 0041)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.i18n import LOCALES
from shared.models import HelpTopic

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 2000


class TopicRefused(ValueError):
    """The edit cannot be saved; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def all_topics(session: Session) -> list[HelpTopic]:
    return list(session.scalars(select(HelpTopic).order_by(HelpTopic.position, HelpTopic.id)))


def for_situations(session: Session) -> dict[str, HelpTopic]:
    """The active guidance for each live state, by situation."""
    return {
        topic.situation: topic
        for topic in session.scalars(
            select(HelpTopic).where(HelpTopic.situation.is_not(None), HelpTopic.active.is_(True))
        )
        if topic.situation
    }


def questions(session: Session) -> list[HelpTopic]:
    """The active common questions, in their order."""
    return list(
        session.scalars(
            select(HelpTopic)
            .where(HelpTopic.situation.is_(None), HelpTopic.active.is_(True))
            .order_by(HelpTopic.position, HelpTopic.id)
        )
    )


def update(
    session: Session,
    actor: Actor,
    topic: HelpTopic,
    texts: dict[str, str],
    active: bool,
    messages: dict[str, str],
) -> None:
    """Save a topic's titles and bodies (`title_en` … `body_es`) and whether it is shown.
    Every language needs both; `messages` words the refusals in the editor's language."""
    cleaned = {name: value.strip() for name, value in texts.items()}
    for locale in LOCALES:
        for part, limit in (("title", TITLE_MAX_LENGTH), ("body", BODY_MAX_LENGTH)):
            name = f"{part}_{locale}"
            if not cleaned.get(name):
                raise TopicRefused(name, messages["missing"])
            if len(cleaned[name]) > limit:
                raise TopicRefused(name, messages["too_long"] % {"max": limit})
    changed = sorted(
        name for name in cleaned if name in _FIELDS and getattr(topic, name) != cleaned[name]
    )
    for name in changed:
        setattr(topic, name, cleaned[name])
    if topic.active != active:
        changed.append("active")
        topic.active = active
    if not changed:
        return
    topic.updated_at = utcnow()
    topic.updated_by = str(actor)
    audit.record(
        session,
        actor,
        audit.AuditAction.HELP_TOPIC_CHANGED,
        "help_topic",
        topic.key,
        {"changed": changed},
    )


_FIELDS = {f"{part}_{locale}" for part in ("title", "body") for locale in LOCALES}
