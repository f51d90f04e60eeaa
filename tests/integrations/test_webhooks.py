"""Outgoing webhooks end to end: events emitted where they happen, the worker's outbox
sending them signed to a real receiver on loopback, retries on the issue's schedule with
the same body, a week of failures pausing the subscription and emailing its owner,
secret rotation with both signatures during the overlap, and "send again"."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrations.webhooks import paused_email_handler, webhook_handler
from shared.actors import Actor, ActorType
from shared.config import Settings
from shared.db import utcnow
from shared.exceptions import cases
from shared.interactions import workflow
from shared.messaging import outbox, webhooks
from shared.messaging.mailer import FileMailer
from shared.messaging.signing import SIGNATURE_HEADER
from shared.messaging.webhooks import WEBHOOK, WEBHOOK_PAUSED_EMAIL
from shared.models import (
    DeliveryStatus,
    ExceptionKind,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    PaymentStatus,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from shared.payments import states
from tests import factories
from tests.shared.interactions.support_factories import request as support_request
from tests.shared.interactions.support_factories import staff
from tests.support.source_system import Request, SourceSystem

ADMIN = Actor(ActorType.STAFF, "admin1")
SETTINGS = Settings(secret_key="webhook-tests")


def subscribe(db: Session, url: str, events: list[str]) -> WebhookSubscription:
    subscription = webhooks.subscribe(db, ADMIN, ("CRM team", "crm@example.org", url, events))
    db.commit()
    return subscription


def deliver(factory: sessionmaker[Session], mail: Path | None = None) -> int:
    handlers = {WEBHOOK: webhook_handler(SETTINGS)}
    if mail is not None:
        handlers[WEBHOOK_PAUSED_EMAIL] = paused_email_handler(SETTINGS, FileMailer(mail))
    return outbox.deliver_due(factory, handlers)


def verify(request: Request, secret: str) -> bool:
    """What a receiver does: any v1 in the header made with `secret` over t and the body."""
    parts = [p.split("=", 1) for p in request.headers[SIGNATURE_HEADER].split(",")]
    t = next(value for name, value in parts if name == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + request.body, hashlib.sha256)
    return any(
        hmac.compare_digest(value, expected.hexdigest()) for name, value in parts if name == "v1"
    )


def deliveries(db: Session) -> list[WebhookDelivery]:
    db.expire_all()
    return list(db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def due_now(db: Session) -> None:
    """Time passes: the queued retries are due."""
    for message in db.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == WEBHOOK, OutboxMessage.status == OutboxStatus.PENDING
        )
    ):
        message.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()


def test_a_payment_is_told_signed_once_per_event_and_subscription(
    db: Session, factory: sessionmaker[Session]
) -> None:
    with SourceSystem() as receiver:
        subscription = subscribe(db, receiver.url, ["payment.posted", "receipt.issued"])
        other = subscribe(db, receiver.url, ["exception.opened"])
        (bill,) = factories.bills(db, [4_200])
        outcome = factories.paid_in_cash(db, bill, ADMIN)
        assert deliver(factory) == 2
    secret = webhooks.signing_secret(SETTINGS, subscription.id, 1)
    by_type = {r.headers["Paydesk-Event"]: r for r in receiver.received}
    assert set(by_type) == {"payment.posted", "receipt.issued"}
    posted = by_type["payment.posted"]
    assert verify(posted, secret)
    assert not verify(posted, webhooks.signing_secret(SETTINGS, other.id, 1))
    assert posted.json["type"] == "payment.posted"
    assert posted.json["data"]["transaction_id"] == outcome.payment.transaction_id
    assert posted.json["data"]["amount"] == 4_200
    assert posted.headers["Idempotency-Key"] == posted.json["id"]
    assert outcome.receipt is not None
    assert by_type["receipt.issued"].json["data"]["receipt_number"] == (
        outcome.receipt.receipt_number
    )
    for delivery in deliveries(db):
        assert (delivery.status, delivery.attempts, delivery.response_code) == (
            DeliveryStatus.DELIVERED,
            1,
            200,
        )


def test_every_event_of_the_list_is_emitted_where_it_happens(db: Session) -> None:
    subscribe(db, "http://127.0.0.1:9/hooks", list(webhooks.EVENT_TYPES))
    (bill,) = factories.bills(db, [1_000])
    payment = factories.paid_in_cash(db, bill, ADMIN).payment
    states.move(db, payment, PaymentStatus.SETTLED, ADMIN)
    states.move(db, payment, PaymentStatus.REVERSED, ADMIN, "chargeback")
    (second,) = factories.bills(db, [500])
    voided = factories.paid_in_cash(db, second, ADMIN).payment
    states.move(db, voided, PaymentStatus.VOIDED, ADMIN)
    (third,) = factories.bills(db, [700])
    refunded = factories.paid_in_cash(db, third, ADMIN).payment
    states.move(db, refunded, PaymentStatus.REFUNDED, ADMIN)
    cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, f"wh-{payment.id}")
    asked = support_request(db)
    _user, agent = staff(db)
    workflow.resolve(db, agent, asked, Outcome.RESOLVED, "Answered.")
    db.commit()
    emitted = {d.event_type for d in deliveries(db)}
    assert emitted == set(webhooks.EVENT_TYPES)


def test_a_failing_receiver_is_tried_on_the_schedule_with_the_same_body(
    db: Session, factory: sessionmaker[Session]
) -> None:
    with SourceSystem(status=500) as receiver:
        subscribe(db, receiver.url, ["exception.opened"])
        cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, "wh-retry")
        db.commit()
        waits = []
        for _ in range(3):
            deliver(factory)
            db.expire_all()
            (retry,) = db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == WEBHOOK, OutboxMessage.status == OutboxStatus.PENDING
                )
            ).all()
            (delivery,) = deliveries(db)
            assert delivery.last_attempt_at is not None
            waits.append(retry.next_attempt_at - delivery.last_attempt_at)
            due_now(db)
        receiver.status = 204
        deliver(factory)
    # 1 min, 5 min, 30 min after each of the first three failed tries.
    assert waits == [dt.timedelta(minutes=m) for m in (1, 5, 30)]
    bodies = {r.body for r in receiver.received}
    assert len(receiver.received) == 4 and len(bodies) == 1
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        DeliveryStatus.DELIVERED,
        4,
        204,
    )
    assert delivery.body.encode() in bodies


def test_a_week_of_failures_pauses_the_subscription_and_tells_its_owner(
    db: Session, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with SourceSystem(status=503) as receiver:
        subscription = subscribe(db, receiver.url, ["exception.opened"])
        cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, "wh-week")
        db.commit()
        deliver(factory)
        subscription.failing_since = utcnow() - dt.timedelta(days=7, minutes=1)
        db.commit()
        due_now(db)
        deliver(factory, tmp_path)
        deliver(factory, tmp_path)  # the owner's email
        # Paused: a new event is not sent.
        cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, "wh-week-2")
        db.commit()
        deliver(factory, tmp_path)
    db.expire_all()
    assert subscription.status is SubscriptionStatus.PAUSED
    assert subscription.paused_reason == "nothing delivered for a week"
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert len(receiver.received) == 2
    (mail,) = tmp_path.glob("*.eml")
    text = mail.read_text()
    assert "To: crm@example.org" in text and receiver.url in text and "paused" in text


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(
    db: Session, factory: sessionmaker[Session]
) -> None:
    with SourceSystem() as receiver:
        subscription = subscribe(db, receiver.url, ["exception.opened"])
        old = webhooks.signing_secret(SETTINGS, subscription.id, 1)
        webhooks.rotate(db, ADMIN, subscription, dt.timedelta(hours=24), utcnow())
        db.commit()
        new = webhooks.signing_secret(SETTINGS, subscription.id, 2)
        cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, "wh-rotate")
        db.commit()
        deliver(factory)
        subscription.previous_until = utcnow() - dt.timedelta(seconds=1)
        db.commit()
        cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, "wh-rotate-2")
        db.commit()
        deliver(factory)
    during, after = receiver.received
    assert verify(during, old) and verify(during, new)
    assert verify(after, new) and not verify(after, old)


def test_send_again_repeats_the_same_body(db: Session, factory: sessionmaker[Session]) -> None:
    with SourceSystem() as receiver:
        subscription = subscribe(db, receiver.url, ["exception.opened"])
        cases.open_case(db, ADMIN, ExceptionKind.POSSIBLE_DUPLICATE, "wh-again")
        db.commit()
        deliver(factory)
        found = webhooks.in_range(db, subscription.id, utcnow() - dt.timedelta(hours=1), utcnow())
        assert webhooks.send_again(db, ADMIN, found, utcnow()) == 1
        db.commit()
        deliver(factory)
    first, again = receiver.received
    assert first.body == again.body
    assert json.loads(again.body)["type"] == "exception.opened"
    (delivery,) = deliveries(db)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("owner", ("", "a@b.org", "https://x.example/h", ["exception.opened"])),
        ("owner_email", ("CRM", "not-an-email", "https://x.example/h", ["exception.opened"])),
        ("url", ("CRM", "a@b.org", "ftp://x.example/h", ["exception.opened"])),
        ("events", ("CRM", "a@b.org", "https://x.example/h", [])),
        ("events", ("CRM", "a@b.org", "https://x.example/h", ["payment.nothing"])),
    ],
)
def test_a_subscription_is_checked(field: str, values: tuple[str, str, str, list[str]]) -> None:
    messages = {name: f"bad {name}" for name in ("owner", "owner_email", "url", "events")}
    with pytest.raises(webhooks.SubscriptionRefused) as refused:
        webhooks.checked(*values, messages)
    assert (refused.value.field, refused.value.message) == (field, f"bad {field}")


def test_the_retry_schedule_is_the_issue_s_then_daily() -> None:
    minutes = [webhooks.retry_after(n) / dt.timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 5, 30, 120, 720, 1440, 1440, 1440, 1440]
