"""Support requests for tests, made through the real services."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.config import Settings
from shared.interactions import sla, support
from shared.models import (
    ContactMethod,
    InteractionChannel,
    StaffUser,
    SupportPriority,
    SupportRequest,
)
from tests.factories import unique

WIDGET = Actor(ActorType.CITIZEN, "widget", source_ip="203.0.113.9")
TARGETS = sla.Targets.from_settings(Settings(secret_key="support-tests"))
NOW = dt.datetime(2030, 5, 15, 9, 0, tzinfo=dt.UTC)


def contact(
    email: str | None = "ana@example.com",
    phone: str | None = None,
    locale: str = "en",
    name: str = "Ana Resident",
) -> support.Contact:
    method = ContactMethod.EMAIL if email else ContactMethod.PHONE
    return support.Contact(name, email, phone, locale, method)


def request(
    db: Session,
    *,
    about: support.About | None = None,
    priority: SupportPriority = SupportPriority.NORMAL,
    channel: InteractionChannel = InteractionChannel.WEB,
    message: str = "Did my payment go through?",
    now: dt.datetime = NOW,
    **kwargs: object,
) -> SupportRequest:
    return support.open_request(
        db,
        WIDGET,
        channel=channel,
        priority=priority,
        contact=kwargs.pop("who", None) or contact(),  # type: ignore[arg-type]
        message=message,
        targets=TARGETS,
        about=about,
        now=now,
        **kwargs,  # type: ignore[arg-type]
    )


def staff(db: Session, name: str = "agent") -> tuple[StaffUser, Actor]:
    user = StaffUser(username=unique(name), display_name=name.title())
    db.add(user)
    db.flush()
    return user, Actor(ActorType.STAFF, user.username, staff_user_id=user.id)
