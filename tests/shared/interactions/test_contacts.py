"""Interactions: notes masked and append-only, links checked against the customer, every
change audited, follow-ups listed for their owner."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.interactions import contacts
from shared.interactions.contacts import InteractionRefused
from shared.models import (
    AuditEvent,
    Customer,
    InteractionChannel,
    InteractionNote,
    LinkKind,
    Outcome,
    StaffUser,
)
from tests import factories

TODAY = dt.date(2030, 5, 15)


def agent(db: Session) -> Actor:
    user = StaffUser(username=f"agent-{uuid.uuid4().hex[:8]}", display_name="Agent")
    db.add(user)
    db.flush()
    return Actor(ActorType.STAFF, user.username, staff_user_id=user.id)


def events(db: Session, action: str, interaction_id: int) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.object_id == str(interaction_id)
            )
        )
    )


@pytest.fixture
def customer(db: Session) -> Customer:
    return factories.customer(db, name="Grace Caller")


def test_a_card_number_in_a_note_is_masked_and_the_masking_audited(
    db: Session, customer: Customer
) -> None:
    actor = agent(db)
    interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
    note = contacts.add_note(
        db, actor, interaction, "Caller read out 4242 4242 4242 4242 by mistake; order 12345"
    )
    db.commit()
    assert note.text == "Caller read out ************4242 by mistake; order 12345"
    stored = db.scalars(select(InteractionNote.text).where(InteractionNote.id == note.id)).one()
    assert "4242 4242" not in stored
    (masked,) = events(db, "interaction:note:masked", interaction.id)
    assert masked.details == {"interaction": interaction.id, "note": note.id}
    assert "4242424242424242" not in str(masked.details) and "4242 4242" not in str(masked.details)
    assert events(db, "interaction:note:added", interaction.id)
    assert events(db, "interaction:interaction:started", interaction.id)


@pytest.mark.parametrize(
    "card",
    [
        "4242 - 4242 - 4242 - 4242",
        "4242\u00a04242\u00a04242\u00a04242",
        "4242\n4242\n4242\n4242",
        "4242.4242.4242.4242",
        "4242\u20134242\u20134242\u20134242",
        "\uff14\uff12\uff14\uff12 \uff14\uff12\uff14\uff12 \uff14\uff12\uff14\uff12 "
        "\uff14\uff12\uff14\uff12",
    ],
    ids=["spaced-dashes", "no-break-spaces", "lines", "dots", "en-dashes", "full-width"],
)
def test_a_card_number_typed_with_other_separators_is_masked_and_the_masking_audited(
    db: Session, customer: Customer, card: str
) -> None:
    actor = agent(db)
    interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
    note = contacts.add_note(
        db, actor, interaction, f"Paid 125.00 on 2030-05-15; caller read {card} by mistake"
    )
    db.commit()
    expected = "Paid 125.00 on 2030-05-15; caller read ************4242 by mistake"
    assert note.text == expected
    stored = db.scalars(select(InteractionNote.text).where(InteractionNote.id == note.id)).one()
    assert stored == expected
    (masked,) = events(db, "interaction:note:masked", interaction.id)
    assert masked.details == {"interaction": interaction.id, "note": note.id}
    assert events(db, "interaction:note:added", interaction.id)


def test_a_note_without_a_card_number_is_kept_as_typed(db: Session, customer: Customer) -> None:
    actor = agent(db)
    interaction = contacts.start(db, actor, customer, InteractionChannel.EMAIL)
    note = contacts.add_note(db, actor, interaction, "  Reference 1234567890123  ")
    db.commit()
    assert note.text == "Reference 1234567890123"
    assert events(db, "interaction:note:masked", interaction.id) == []


def test_empty_and_overlong_notes_are_refused(db: Session, customer: Customer) -> None:
    actor = agent(db)
    interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
    with pytest.raises(InteractionRefused):
        contacts.add_note(db, actor, interaction, "   ")
    with pytest.raises(InteractionRefused):
        contacts.add_note(db, actor, interaction, "x" * (contacts.NOTE_MAX_LENGTH + 1))


def test_links_must_exist_and_belong_to_the_customer(db: Session) -> None:
    (mine,) = factories.bills(db, [5000])
    (other,) = factories.bills(db, [7000])
    customer = mine.account.customer
    actor = agent(db)
    outcome = factories.paid_in_cash(db, mine, actor)
    assert outcome.receipt is not None
    interaction = contacts.start(db, actor, customer, InteractionChannel.COUNTER)
    contacts.attach(db, actor, interaction, LinkKind.INVOICE, mine.invoice_number.lower())
    contacts.attach(db, actor, interaction, LinkKind.RECEIPT, outcome.receipt.receipt_number)
    contacts.attach(db, actor, interaction, LinkKind.PAYMENT, outcome.payment.transaction_id)
    db.commit()
    assert [(ln.kind, ln.reference) for ln in interaction.links] == [
        (LinkKind.INVOICE, mine.invoice_number),
        (LinkKind.RECEIPT, outcome.receipt.receipt_number),
        (LinkKind.PAYMENT, outcome.payment.transaction_id),
    ]
    with pytest.raises(InteractionRefused, match="no invoice"):
        contacts.attach(db, actor, interaction, LinkKind.INVOICE, other.invoice_number)
    with pytest.raises(InteractionRefused, match="no receipt"):
        contacts.attach(db, actor, interaction, LinkKind.RECEIPT, "R-1999-000001")
    with pytest.raises(InteractionRefused, match="already attached"):
        contacts.attach(db, actor, interaction, LinkKind.INVOICE, mine.invoice_number)
    assert len(events(db, "interaction:link:added", interaction.id)) == 3


def test_outcome_follow_up_and_end(db: Session, customer: Customer) -> None:
    actor = agent(db)
    interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
    with pytest.raises(InteractionRefused, match="outcome"):
        contacts.end(db, actor, interaction)
    with pytest.raises(InteractionRefused):
        contacts.schedule_follow_up(db, actor, interaction, TODAY - dt.timedelta(days=1), TODAY)
    contacts.set_outcome(db, actor, interaction, Outcome.CALLBACK)
    contacts.schedule_follow_up(db, actor, interaction, TODAY, TODAY)
    contacts.end(db, actor, interaction)
    db.commit()
    assert interaction.ended_at is not None and interaction.outcome is Outcome.CALLBACK
    # Ended: no more changes, but the follow-up is still listed until done.
    with pytest.raises(InteractionRefused, match="ended"):
        contacts.add_note(db, actor, interaction, "too late")
    assert actor.staff_user_id is not None
    assert contacts.follow_ups_for(db, actor.staff_user_id) == [interaction]
    contacts.complete_follow_up(db, actor, interaction)
    db.commit()
    assert contacts.follow_ups_for(db, actor.staff_user_id) == []
    for action in (
        "interaction:outcome:set",
        "interaction:follow_up:scheduled",
        "interaction:interaction:ended",
        "interaction:follow_up:done",
    ):
        assert events(db, action, interaction.id), action


def test_follow_ups_are_listed_soonest_first_for_their_owner_only(
    db: Session, customer: Customer
) -> None:
    me, someone_else = agent(db), agent(db)
    later = contacts.start(db, me, customer, InteractionChannel.CALL)
    sooner = contacts.start(db, me, customer, InteractionChannel.CALL)
    theirs = contacts.start(db, someone_else, customer, InteractionChannel.CALL)
    contacts.schedule_follow_up(db, me, later, TODAY + dt.timedelta(days=3), TODAY)
    contacts.schedule_follow_up(db, me, sooner, TODAY, TODAY)
    contacts.schedule_follow_up(db, someone_else, theirs, TODAY, TODAY)
    db.commit()
    assert me.staff_user_id is not None
    assert contacts.follow_ups_for(db, me.staff_user_id) == [sooner, later]
    assert contacts.page_for_customer(db, customer.id)[0][0].interaction is theirs


def test_a_payment_with_no_customer_on_file_opens_an_unidentified_interaction(
    db: Session,
) -> None:
    """A payment nobody is on file for (say, a walk-in) can still be talked about."""
    (bill,) = factories.bills(db, [1500])
    customer = bill.account.customer
    actor = agent(db)
    payment = factories.paid_in_cash(db, bill, actor).payment
    payment.customer_id = None
    db.flush()
    interaction = contacts.start_about(db, actor, payment.transaction_id, InteractionChannel.CALL)
    assert interaction.customer_id is None
    assert [link.kind for link in interaction.links] == [LinkKind.PAYMENT, LinkKind.RECEIPT]
    # That payment cannot tell who the caller is; their customer number can.
    with pytest.raises(InteractionRefused, match="no customer on file"):
        contacts.identify(db, actor, interaction, payment.transaction_id)
    contacts.identify(db, actor, interaction, customer.customer_number)
    assert interaction.customer_id == customer.id
    assert len(interaction.links) == 2
    db.commit()
    assert events(db, "interaction:customer:identified", interaction.id)
