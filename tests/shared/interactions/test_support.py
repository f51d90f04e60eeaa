"""Support requests: gap-free references, the records a signed context names, what the
person typed kept apart, and a history that matches the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.interactions import support
from shared.interactions.replies import SUPPORT_EMAIL
from shared.models import (
    AuditEvent,
    InteractionChannel,
    LinkKind,
    OutboxMessage,
    SupportPriority,
    SupportStatus,
)
from tests import factories
from tests.shared.interactions.support_factories import NOW, TARGETS, contact, request


def _paid(db: Session) -> tuple[str, str, int, int]:
    """A bill paid in cash: its transaction ID, receipt number, customer and department."""
    (bill,) = factories.bills(db, [4_200])
    outcome = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test"))
    assert outcome.receipt is not None
    return (
        outcome.payment.transaction_id,
        outcome.receipt.receipt_number,
        bill.account.customer_id,
        bill.account.department_id,
    )


def test_references_are_gap_free_per_year_even_when_one_is_rolled_back(db: Session) -> None:
    by_phone = contact(email=None, phone="613 555 0100")
    first = request(db, who=by_phone)
    savepoint = db.begin_nested()
    request(db, who=by_phone)
    savepoint.rollback()
    second = request(db, who=by_phone)
    next_year = request(db, who=by_phone, now=dt.datetime(2031, 1, 1, 0, 5, tzinfo=dt.UTC))
    assert first.reference.startswith("S-2030-")
    assert second.sequence == first.sequence + 1
    assert second.reference == f"S-2030-{first.sequence + 1:06d}"
    assert next_year.reference == "S-2031-000001"


def test_a_receipt_names_its_payment_customer_and_department(db: Session) -> None:
    transaction_id, receipt_number, customer_id, department_id = _paid(db)
    about = support.about(db, "receipt", receipt_number)
    assert about == support.About(
        "receipt",
        receipt_number,
        customer_id,
        department_id,
        ((LinkKind.PAYMENT, transaction_id), (LinkKind.RECEIPT, receipt_number)),
    )
    by_payment = support.about(db, "transaction", transaction_id)
    assert by_payment is not None and by_payment.kind == "payment"
    assert by_payment.links == about.links


def test_a_bill_and_an_account_name_their_customer(db: Session) -> None:
    (bill,) = factories.bills(db, [1_000])
    invoice = support.about(db, "invoice", bill.invoice_number)
    account = support.about(db, "account", bill.account.account_number)
    assert invoice is not None and account is not None
    assert invoice.links == ((LinkKind.INVOICE, bill.invoice_number),)
    assert invoice.customer_id == account.customer_id == bill.account.customer_id
    assert account.links == ()


@pytest.mark.parametrize(
    ("kind", "reference"),
    [("receipt", "R-2030-999999"), ("invoice", "INV-NOPE"), ("account", "ACC"), ("fee", "x")],
)
def test_nothing_by_that_number_is_no_context(db: Session, kind: str, reference: str) -> None:
    assert support.about(db, kind, reference) is None


def test_a_request_waits_in_the_queue_linked_to_what_the_page_showed(db: Session) -> None:
    transaction_id, receipt_number, customer_id, department_id = _paid(db)
    made = request(
        db,
        about=support.about(db, "receipt", receipt_number),
        unverified_reference="R-2030-000001",
    )
    assert made.status is SupportStatus.NEW
    assert made.interaction.staff_user_id is None, "nobody owns it: the team queue does"
    assert made.interaction.channel is InteractionChannel.WEB
    assert made.interaction.customer_id == customer_id
    assert made.department_id == department_id
    assert {(ln.kind, ln.reference) for ln in made.interaction.links} == {
        (LinkKind.PAYMENT, transaction_id),
        (LinkKind.RECEIPT, receipt_number),
    }
    # What the person typed is kept as they typed it, and nothing is linked from it.
    assert made.unverified_reference == "R-2030-000001"
    assert (made.context_kind, made.context_reference) == ("receipt", receipt_number)


def test_card_numbers_in_the_message_and_the_typed_reference_are_masked(db: Session) -> None:
    made = request(
        db,
        message="My card 4111 1111 1111 1111 was charged twice",
        unverified_reference="4111111111111111",
    )
    assert "4111 1111 1111 1111" not in made.message
    assert made.message.endswith("1111 was charged twice")
    assert made.unverified_reference is not None
    assert "4111111111111111" not in made.unverified_reference
    (created,) = made.events
    assert created.details["masked"] is True


def test_a_contact_email_gets_a_confirmation_through_the_outbox(db: Session) -> None:
    with_email = request(db, who=contact(email="ana@example.com", locale="fr"))
    by_phone = request(db, who=contact(email=None, phone="613 555 0100"))
    queued = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == SUPPORT_EMAIL)).all()
    assert [m.payload for m in queued] == [
        {
            "request_id": with_email.id,
            "kind": "confirmation",
            "to": "ana@example.com",
            "locale": "fr",
        }
    ]
    assert by_phone.contact_phone == "613 555 0100"


def test_the_history_and_the_audit_trail_tell_the_same_story(db: Session) -> None:
    made = request(db)
    (created,) = made.events
    assert (created.kind, created.actor) == ("created", "citizen:widget")
    db.commit()
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "support_request", AuditEvent.object_id == made.reference
        )
    ).one()
    assert event.action == "support:request:created"
    assert event.source_ip == "203.0.113.9"
    assert event.details["channel"] == "web"


def test_call_for_help_is_a_high_priority_kiosk_request_with_its_terminal(db: Session) -> None:
    kiosk = Actor(ActorType.TERMINAL, "KIOSK-LOBBY-1")
    made = support.call_for_help(
        db,
        kiosk,
        terminal_code="KIOSK-LOBBY-1",
        location="City Hall lobby, east entrance",
        targets=TARGETS,
        locale="es",
        now=NOW,
    )
    assert made.priority is SupportPriority.HIGH
    assert made.interaction.channel is InteractionChannel.KIOSK
    assert (made.terminal_code, made.terminal_location) == (
        "KIOSK-LOBBY-1",
        "City Hall lobby, east entrance",
    )
    assert made.topic == "call_for_help"
    assert made.contact_locale == "es"
    # High priority: a first response within the hour by default.
    assert made.first_response_due_at - NOW == dt.timedelta(hours=1)
