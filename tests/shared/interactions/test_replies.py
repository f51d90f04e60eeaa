"""Answering a request: the confirmation and the replies reach a real SMTP server in the
resident's language, with the reference in the subject; a phone call counts too."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.interactions import replies
from shared.interactions.workflow import SupportRefused
from shared.messaging import outbox
from shared.messaging.mailer import SmtpMailer
from shared.models import Outcome, SupportStatus
from tests.shared.interactions.support_factories import NOW, contact, request, staff
from tests.shared.smtp_server import SmtpServer


def _send(factory: sessionmaker[Session], port: int) -> int:
    settings = Settings(secret_key="x", smtp_host="127.0.0.1", smtp_port=port)
    handler = replies.support_email_handler(settings, SmtpMailer(settings))
    return outbox.deliver_due(factory, {replies.SUPPORT_EMAIL: handler})


def test_the_confirmation_names_the_reference_in_the_residents_language(
    db: Session, factory: sessionmaker[Session]
) -> None:
    made = request(db, who=contact(email="ana@example.com", locale="fr"), message="Aidez-moi")
    db.commit()
    with SmtpServer() as server:
        assert _send(factory, server.port) == 1
    (received,) = server.received
    assert received.rcpt_tos == ["ana@example.com"]
    email = received.message
    assert email["Subject"] == f"[{made.reference}] Nous avons reçu votre demande"
    assert email["Content-Language"] == "fr"
    assert email["Auto-Submitted"] == "auto-generated"
    body = email.get_content()
    assert made.reference in body
    assert "Aidez-moi" not in body, "what the form said is never sent back out"


def test_a_reply_keeps_the_reference_in_the_subject_and_waits_on_the_customer(
    db: Session, factory: sessionmaker[Session]
) -> None:
    made = request(db, who=contact(locale="es"))
    _, actor = staff(db)
    replies.reply_by_email(
        db,
        actor,
        made,
        "¿Con qué tarjeta pagó? 4111 1111 1111 1111",
        sender="Ana (City)",
        now=NOW,
    )
    assert made.status is SupportStatus.WAITING
    assert made.first_responded_at == NOW
    db.commit()
    with SmtpServer() as server:
        assert _send(factory, server.port) == 2  # the confirmation, then the reply
    reply = server.received[1].message
    assert reply["Subject"] == f"[{made.reference}] Respuesta a su solicitud"
    assert "Auto-Submitted" not in reply
    body = reply.get_content()
    assert "¿Con qué tarjeta pagó?" in body
    assert "4111 1111 1111 1111" not in body
    assert "Ana (City)" in body
    (event,) = [e for e in made.events if e.kind == "reply"]
    assert event.details["channel"] == "email"
    assert "4111 1111 1111 1111" not in event.details["text"]


def test_without_an_email_address_the_agent_phones_and_records_it(db: Session) -> None:
    made = request(db, who=contact(email=None, phone="613 555 0100"))
    _, actor = staff(db)
    with pytest.raises(SupportRefused) as refused:
        replies.reply_by_email(db, actor, made, "Hello", sender="Agent", now=NOW)
    assert refused.value.field == "reply-text"
    replies.record_phone_reply(db, actor, made, "Called back: the payment is fine.", now=NOW)
    assert made.first_responded_at == NOW
    assert made.status is SupportStatus.OPEN


def test_an_empty_reply_and_a_reply_to_a_resolved_request_are_refused(db: Session) -> None:
    from shared.interactions import workflow

    made = request(db)
    _, actor = staff(db)
    with pytest.raises(SupportRefused):
        replies.reply_by_email(db, actor, made, "   ", sender="Agent", now=NOW)
    workflow.resolve(db, actor, made, Outcome.RESOLVED, "Done.", NOW)
    with pytest.raises(SupportRefused):
        replies.reply_by_email(db, actor, made, "One more thing", sender="Agent", now=NOW)
