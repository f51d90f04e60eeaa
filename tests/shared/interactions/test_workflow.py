"""Moving a support request along its states: claimed, waiting, resolved with an outcome,
closed, reopened; each move in its history."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from shared.interactions import workflow
from shared.interactions.workflow import SupportRefused
from shared.models import Outcome, SupportRequest, SupportRequestEvent, SupportStatus
from tests.shared.interactions.support_factories import NOW, request, staff

S = SupportStatus


def test_claiming_a_new_request_makes_it_yours_and_open(db: Session) -> None:
    made = request(db)
    alice, actor = staff(db, "alice")
    workflow.assign(db, actor, made, alice, NOW)
    assert made.interaction.staff_user_id == alice.id
    assert made.status is S.OPEN
    assert [(e.kind, e.details.get("to")) for e in _events(db, made)] == [
        ("created", None),
        ("assigned", alice.username),
        ("status", "open"),
    ]


def test_reassigning_is_allowed_and_kept_in_the_history(db: Session) -> None:
    made = request(db)
    alice, actor = staff(db, "alice")
    bob, _ = staff(db, "bob")
    workflow.assign(db, actor, made, alice, NOW)
    workflow.assign(db, actor, made, bob, NOW)
    assert made.interaction.staff_user_id == bob.id
    reassigned = _events(db, made)[-1]
    assert reassigned.details == {"to": bob.username, "previous_staff_user_id": alice.id}
    with pytest.raises(SupportRefused):
        workflow.assign(db, actor, made, bob, NOW)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([S.RESOLVED, S.CLOSED], S.OPEN),  # closed is the end
        ([S.OPEN], S.NEW),  # nothing goes back to new
        ([S.RESOLVED], S.WAITING),  # reopen first
    ],
)
def test_moves_outside_the_table_are_refused(
    db: Session, path: list[SupportStatus], refused: SupportStatus
) -> None:
    made = request(db)
    _, actor = staff(db)
    for status in path:
        workflow.move(db, actor, made, status, NOW)
    with pytest.raises(SupportRefused):
        workflow.move(db, actor, made, refused, NOW)
    assert made.status is path[-1]


def test_resolving_needs_a_note_and_sets_the_outcome(db: Session) -> None:
    made = request(db)
    _, actor = staff(db)
    with pytest.raises(SupportRefused) as refused:
        workflow.resolve(db, actor, made, Outcome.RESOLVED, "  ", NOW)
    assert refused.value.field == "resolve-note"
    workflow.resolve(db, actor, made, Outcome.RESOLVED, "Resent the receipt.", NOW)
    assert made.status is S.RESOLVED
    assert made.interaction.outcome is Outcome.RESOLVED
    assert made.interaction.open, "resolved is not closed: it can still be reopened"
    last = _events(db, made)[-1]
    assert last.details["note"] == "Resent the receipt."


def test_closing_ends_the_interaction_and_reopening_clears_the_outcome(db: Session) -> None:
    made = request(db)
    _, actor = staff(db)
    workflow.resolve(db, actor, made, Outcome.NO_ACTION, "Answered by the help.", NOW)
    workflow.move(db, actor, made, S.OPEN, NOW)
    assert made.interaction.outcome is None and made.resolved_at is None
    workflow.resolve(db, actor, made, Outcome.RESOLVED, "Done.", NOW)
    workflow.move(db, actor, made, S.CLOSED, NOW)
    assert made.closed_at == NOW
    assert not made.interaction.open


def test_a_resolved_request_cannot_be_claimed_until_reopened(db: Session) -> None:
    made = request(db)
    alice, actor = staff(db, "alice")
    workflow.resolve(db, actor, made, Outcome.RESOLVED, "Done.", NOW)
    with pytest.raises(SupportRefused):
        workflow.assign(db, actor, made, alice, NOW)


def _events(db: Session, made: SupportRequest) -> list[SupportRequestEvent]:
    db.expire(made, ["events"])
    return list(made.events)
