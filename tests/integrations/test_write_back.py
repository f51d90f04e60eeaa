"""Write-back end to end: a real payment, the outbox worker, a source system on loopback."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from integrations.write_back import write_back_handler
from shared.actors import Actor, ActorType
from shared.config import Settings, WriteBackTarget
from shared.db import utcnow
from shared.messaging import outbox
from shared.messaging.signing import SIGNATURE_HEADER
from shared.messaging.write_back import WRITE_BACK, of_payment, pending_for
from shared.models import (
    AuditEvent,
    Channel,
    Invoice,
    OutboxMessage,
    OutboxStatus,
    Receipt,
    Tender,
    WriteBack,
    WriteBackStatus,
)
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.no_gateway import NoGateway
from tests.shared.smtp_server import free_port
from tests.support.source_system import SourceSystem

CASHIER = Actor(ActorType.STAFF, "cashier1")
SECRET = "tax-system-shared-secret"
KEEP_TRYING = frozenset({WRITE_BACK})


def handlers(url: str | None) -> dict[str, outbox.Handler]:
    targets = (WriteBackTarget("tax-system", url, SECRET),) if url else ()
    return {WRITE_BACK: write_back_handler(Settings(secret_key="x", write_back_targets=targets))}


def deliver(factory: sessionmaker[Session], url: str | None) -> int:
    return outbox.deliver_due(factory, handlers(url), keep_trying=KEEP_TRYING)


def bills_from_tax_system(db: Session) -> tuple[Invoice, Invoice, Invoice]:
    """Two bills on an account held in the tax system, one on a Paydesk-held account."""
    tax, water = factories.bills(db, [125_000, 8_450])
    tax.account.source_system = "tax-system"
    second = factories.invoice(db, tax.account, tax.fee_type, 30_000)
    db.commit()
    return tax, second, water


def pay(db: Session, *bills: Invoice, amounts: dict[str, int] | None = None) -> Receipt:
    items = tuple(Item(b.invoice_number, (amounts or {}).get(b.invoice_number)) for b in bills)
    outcome = take_payment(
        db,
        NoGateway(),
        PaymentRequest(
            items=items,
            tender=Tender.CASH,
            channel=Channel.COUNTER,
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=10_000_000,
        ),
        CASHIER,
    )
    assert outcome.receipt is not None
    return outcome.receipt


def write_backs(db: Session) -> list[WriteBack]:
    db.expire_all()
    return list(db.scalars(select(WriteBack).order_by(WriteBack.id)))


def message(db: Session) -> OutboxMessage:
    db.expire_all()
    return db.scalars(select(OutboxMessage).where(OutboxMessage.kind == WRITE_BACK)).one()


def test_a_payment_on_a_source_system_s_account_is_written_back_signed(
    db: Session, factory: sessionmaker[Session]
) -> None:
    tax, second, water = bills_from_tax_system(db)
    receipt = pay(db, tax, second, water)
    (wb,) = write_backs(db)
    assert (wb.account_id, wb.source_system, wb.amount, wb.status) == (
        tax.account_id,
        "tax-system",
        155_000,
        WriteBackStatus.PENDING,
    )
    assert [d.account_number for d in pending_for(db, [tax.account_id, water.account_id])] == [
        tax.account.account_number
    ]

    with SourceSystem() as system:
        assert deliver(factory, system.url) == 1
    (request,) = system.received
    assert request.path == "/paydesk/payments"
    t, v1 = (part.split("=", 1)[1] for part in request.headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + request.body, hashlib.sha256)
    assert hmac.compare_digest(v1, expected.hexdigest())
    news = request.json
    assert request.headers["Idempotency-Key"] == news["id"]
    assert news["id"] == f"{receipt.payment.transaction_id}:{tax.account.account_number}"
    assert news["posted_at"] == receipt.payment.posted_at.isoformat()
    assert news["event"] == "payment.posted"
    assert news["transaction_id"] == receipt.payment.transaction_id
    assert news["receipt_number"] == receipt.receipt_number
    assert news["account_number"] == tax.account.account_number
    assert (news["amount"], news["currency"]) == (155_000, "CAD")
    assert [
        (line["invoice_number"], line["amount"], line["owing_after"]) for line in news["lines"]
    ] == [
        (tax.invoice_number, 125_000, 0),
        (second.invoice_number, 30_000, 0),
    ]
    assert water.invoice_number not in request.body.decode()

    (wb,) = write_backs(db)
    assert wb.status is WriteBackStatus.CONFIRMED
    assert wb.confirmed_at is not None
    assert pending_for(db, [tax.account_id]) == []
    assert message(db).status is OutboxStatus.SENT
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "integration:write_back:confirmed")
    ).one()
    assert event.object_id == receipt.payment.transaction_id
    assert event.details["account_number"] == tax.account.account_number


def test_a_part_payment_says_what_the_bill_still_owes(
    db: Session, factory: sessionmaker[Session]
) -> None:
    tax, _, _ = bills_from_tax_system(db)
    pay(db, tax, amounts={tax.invoice_number: 25_000})
    with SourceSystem() as system:
        assert deliver(factory, system.url) == 1
    (line,) = system.received[0].json["lines"]
    assert (line["amount"], line["owing_after"]) == (25_000, 100_000)


def test_every_retry_sends_the_news_as_it_was_when_the_payment_posted(
    db: Session, factory: sessionmaker[Session]
) -> None:
    """A later payment changes what the bill owes; the first write-back's retries still
    say what it owed after the first payment, byte for byte (same key, same request)."""
    tax, _, _ = bills_from_tax_system(db)
    pay(db, tax, amounts={tax.invoice_number: 25_000})
    with SourceSystem(status=503) as system:
        assert deliver(factory, system.url) == 0
        pay(db, tax, amounts={tax.invoice_number: 10_000})
        db.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.commit()
        system.status = 200
        assert deliver(factory, system.url) == 2
    first, retried, second = system.received
    assert retried.body == first.body
    assert retried.headers["Idempotency-Key"] == first.headers["Idempotency-Key"]
    assert [r.json["lines"][0]["owing_after"] for r in (retried, second)] == [100_000, 90_000]
    assert second.json["id"] != first.json["id"]


def test_a_system_that_did_not_answer_is_not_asked_again_in_the_same_pass(
    db: Session, factory: sessionmaker[Session]
) -> None:
    tax, second, _ = bills_from_tax_system(db)
    pay(db, tax)
    pay(db, second)
    with SourceSystem(status=503) as system:
        assert deliver(factory, system.url) == 0
    assert len(system.received) == 1
    db.expire_all()
    errors = db.scalars(
        select(OutboxMessage.last_error)
        .where(OutboxMessage.kind == WRITE_BACK)
        .order_by(OutboxMessage.id)
    ).all()
    assert errors[0] == "WriteBackRefused: tax-system answered HTTP 503"
    assert errors[1] == (
        "SourceSystemDown: not tried: tax-system did not answer just before (HTTP 503)"
    )


def test_a_payment_whose_channel_came_as_plain_text_is_written_back(
    db: Session, factory: sessionmaker[Session]
) -> None:
    """Callers may name the channel and tender as strings ("counter", "cash"): the news
    says the same either way (this once failed the payment on the write-back)."""
    tax, _, _ = bills_from_tax_system(db)
    factories.paid_in_cash(db, tax, CASHIER)
    with SourceSystem() as system:
        assert deliver(factory, system.url) == 1
    news = system.received[0].json
    assert (news["channel"], news["tender"]) == ("counter", "cash")


def test_bills_held_in_paydesk_need_no_write_back(db: Session) -> None:
    (water,) = factories.bills(db, [8_450])
    pay(db, water)
    assert write_backs(db) == []
    assert db.scalars(select(OutboxMessage).where(OutboxMessage.kind == WRITE_BACK)).all() == []


def test_a_source_system_that_is_down_gets_the_news_when_it_is_back(
    db: Session, factory: sessionmaker[Session]
) -> None:
    tax, _, _ = bills_from_tax_system(db)
    receipt = pay(db, tax)
    port = free_port()
    url = f"http://127.0.0.1:{port}/paydesk/payments"
    assert deliver(factory, url) == 0
    waiting = message(db)
    assert (waiting.status, waiting.attempts) == (OutboxStatus.PENDING, 1)
    (shown,) = of_payment(db, receipt.payment_id)
    assert shown.pending
    assert shown.attempts == 1
    assert shown.last_error is not None
    assert "connect" in shown.last_error.lower()
    assert shown.next_attempt_at is not None
    assert shown.next_attempt_at > utcnow()

    with SourceSystem(port) as system:
        assert deliver(factory, url) == 0, "not due yet"
        waiting.next_attempt_at = utcnow()
        db.commit()
        assert deliver(factory, url) == 1
    assert len(system.received) == 1
    db.expire_all()
    (shown,) = of_payment(db, receipt.payment_id)
    assert not shown.pending
    assert shown.next_attempt_at is None


def test_a_refusal_is_retried_and_never_given_up(
    db: Session, factory: sessionmaker[Session]
) -> None:
    tax, _, _ = bills_from_tax_system(db)
    pay(db, tax)
    waiting = message(db)
    waiting.attempts = outbox.MAX_ATTEMPTS  # long past where an email would be dead
    db.commit()
    with SourceSystem(status=503) as system:
        assert deliver(factory, system.url) == 0
    assert len(system.received) == 1
    waiting = message(db)
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.last_error == "WriteBackRefused: tax-system answered HTTP 503"
    assert (write_backs(db)[0].status) is WriteBackStatus.PENDING


def test_an_unconfigured_source_system_is_named_in_the_error(
    db: Session, factory: sessionmaker[Session]
) -> None:
    tax, _, _ = bills_from_tax_system(db)
    pay(db, tax)
    assert deliver(factory, None) == 0
    error = message(db).last_error
    assert error is not None
    assert "'tax-system'" in error
    assert "PAYDESK_WRITE_BACK_URLS" in error


def test_targets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PAYDESK_WRITE_BACK_URLS", "tax-system=https://tax.example/pay, utilities=http://u/wb"
    )
    monkeypatch.setenv("PAYDESK_WRITE_BACK_SECRET_TAX_SYSTEM", "s1")
    monkeypatch.setenv("PAYDESK_WRITE_BACK_SECRET_UTILITIES", "s2")
    settings = Settings(secret_key="x")
    assert settings.write_back_target("tax-system") == WriteBackTarget(
        "tax-system", "https://tax.example/pay", "s1"
    )
    assert settings.write_back_target("utilities") == WriteBackTarget(
        "utilities", "http://u/wb", "s2"
    )
    assert settings.write_back_target("permits") is None


@pytest.mark.parametrize(
    ("urls", "said"),
    [
        ("tax-system", "'tax-system' is not system=http(s)://address"),
        ("tax-system=ftp://tax", "is not system=http(s)://address"),
        ("permits=https://p.example", "set PAYDESK_WRITE_BACK_SECRET_PERMITS"),
    ],
)
def test_a_malformed_target_stops_the_start_up_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, urls: str, said: str
) -> None:
    monkeypatch.setenv("PAYDESK_WRITE_BACK_URLS", urls)
    with pytest.raises(ValueError, match=re.escape(said)):
        Settings(secret_key="x")
