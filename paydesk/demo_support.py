"""Demo support requests, so the queue has something in it on first start: a resident
who reports the demo's possible duplicate from the widget, one asking why a water bill
still shows after paying (waiting long enough to be at risk), a question nobody has
answered in time (breached), and a kiosk's call for help."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.config import Settings
from shared.db import utcnow
from shared.interactions import sla, support
from shared.models import (
    ContactMethod,
    ExceptionCase,
    ExceptionKind,
    InteractionChannel,
    Payment,
    PaymentStatus,
    Receipt,
    SupportPriority,
)

WIDGET = Actor(ActorType.CITIZEN, "help-widget")
KIOSK = Actor(ActorType.TERMINAL, "KIOSK-LOBBY-1")


def seed_support(session: Session, settings: Settings) -> int:
    """Four requests in the queue; returns how many."""
    targets = sla.Targets.from_settings(settings)
    now = utcnow()
    duplicate = session.scalar(
        select(ExceptionCase.subject).where(ExceptionCase.kind == ExceptionKind.POSSIBLE_DUPLICATE)
    )
    settled = session.execute(
        select(Payment.transaction_id, Receipt.receipt_number)
        .join(Receipt, Receipt.payment_id == Payment.id)
        .where(Payment.status == PaymentStatus.SETTLED)
        .order_by(Payment.id)
    ).first()
    made = 0
    if duplicate:
        support.open_request(
            session,
            WIDGET,
            channel=InteractionChannel.WEB,
            priority=SupportPriority.HIGH,
            contact=support.Contact(
                "Chloé Roy", "chloe.roy@example.com", None, "fr", ContactMethod.EMAIL
            ),
            message="J'ai payé deux fois ma facture d'eau, pouvez-vous vérifier?",
            targets=targets,
            about=support.about(session, "transaction", duplicate.split("/")[-1]),
            topic="duplicate",
            now=now - dt.timedelta(minutes=20),
        )
        made += 1
    if settled:
        support.open_request(
            session,
            WIDGET,
            channel=InteractionChannel.WEB,
            priority=SupportPriority.NORMAL,
            contact=support.Contact(
                "Liam Nguyen", "liam.nguyen@example.com", "613 555 0142", "en", ContactMethod.PHONE
            ),
            message="I paid last week but the balance still shows on my account. Is it paid?",
            targets=targets,
            about=support.about(session, "receipt", settled[1]),
            # Three and a half hours ago: at risk of missing the four-hour first response.
            now=now - dt.timedelta(hours=3, minutes=30),
        )
        made += 1
    support.open_request(
        session,
        WIDGET,
        channel=InteractionChannel.WEB,
        priority=SupportPriority.NORMAL,
        contact=support.Contact(
            "Sofía García", "sofia.garcia@example.com", None, "es", ContactMethod.EMAIL
        ),
        message="¿Puedo pagar mi permiso de construcción en dos partes?",
        targets=targets,
        unverified_reference="PRM-2026-0042",
        now=now - dt.timedelta(hours=6),
    )
    support.call_for_help(
        session,
        KIOSK,
        terminal_code="KIOSK-LOBBY-1",
        location="City Hall lobby, east entrance",
        targets=targets,
        now=now - dt.timedelta(minutes=5),
    )
    return made + 2
