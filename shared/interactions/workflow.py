"""The support request state machine: one table, and the moves staff make along it.

    new ──► open ──► waiting (on the customer) ──► open …
     │        │          │
     └────────┴──────────┴──► resolved ──► closed
                                 │
                                 └──► open (reopened)

Waiting on the customer pauses the SLA clocks (`shared.interactions.sla`); leaving it
starts them again. Resolving sets the interaction's outcome; closing ends the interaction.
Every move is written to the request's history and the audit chain (`history.record`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import scrub
from shared.db import utcnow
from shared.i18n import gettext_ as _
from shared.interactions import history, sla
from shared.messaging import webhooks
from shared.models import (
    Outcome,
    StaffUser,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)

S = SupportStatus
TRANSITIONS: dict[SupportStatus, frozenset[SupportStatus]] = {
    S.NEW: frozenset({S.OPEN, S.WAITING, S.RESOLVED}),
    S.OPEN: frozenset({S.WAITING, S.RESOLVED}),
    S.WAITING: frozenset({S.OPEN, S.RESOLVED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
NOTE_MAX_LENGTH = 1000


class SupportRefused(Exception):
    """The change cannot be made; `field` names the input at fault, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def can_move(current: SupportStatus, to: SupportStatus) -> bool:
    return to in TRANSITIONS[current]


def move(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    to: SupportStatus,
    now: dt.datetime | None = None,
    **details: object,
) -> None:
    """Move `request` to `to`, pausing or restarting its clocks as the table says."""
    if not can_move(request.status, to):
        raise SupportRefused("status", _("This request cannot move to that status now."))
    now = now or utcnow()
    previous = request.status
    if to is S.WAITING:
        sla.pause(request, now)
    elif previous is S.WAITING:
        sla.resume(request, now)
    if to is S.RESOLVED:
        request.resolved_at = now
    elif to is S.OPEN and previous is S.RESOLVED:
        request.resolved_at = None
        request.interaction.outcome = None
    if to is S.CLOSED:
        request.closed_at = now
        request.interaction.ended_at = now
    request.status = to
    session.flush()
    history.record(
        session,
        actor,
        request,
        "status",
        audit.AuditAction.SUPPORT_REQUEST_RESOLVED
        if to is S.RESOLVED
        else audit.AuditAction.SUPPORT_STATUS_CHANGED,
        {"from": str(previous), "to": str(to), **details},
    )
    if to is S.RESOLVED:
        webhooks.emit(
            session,
            "support_request.resolved",
            {"reference": request.reference, "resolved_at": now.isoformat(), **details},
        )


def _active(request: SupportRequest) -> None:
    if request.status not in sla.ACTIVE:
        raise SupportRefused("form", _("This request is resolved: reopen it first."))


def assign(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    to: StaffUser,
    now: dt.datetime | None = None,
) -> None:
    """Give the request to someone (claiming is assigning it to oneself): the interaction
    becomes theirs. Taking over someone else's is allowed (they may be away); the history
    shows who had it. A new request becomes open."""
    _active(request)
    previous = request.interaction.staff_user_id
    if previous == to.id:
        raise SupportRefused("assignee", _("It is already theirs."))
    request.interaction.staff_user_id = to.id
    session.flush()
    history.record(
        session,
        actor,
        request,
        "assigned",
        audit.AuditAction.SUPPORT_REQUEST_ASSIGNED,
        {"to": to.username, "previous_staff_user_id": previous},
    )
    if request.status is S.NEW:
        move(session, actor, request, S.OPEN, now)


def set_priority(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    priority: SupportPriority,
    targets: sla.Targets,
    now: dt.datetime | None = None,
) -> None:
    """A new priority: the clocks are worked out again from the request's creation."""
    _active(request)
    if priority is request.priority:
        raise SupportRefused("priority", _("It already has that priority."))
    previous = request.priority
    request.priority = priority
    sla.start(request, targets, now or utcnow())
    session.flush()
    history.record(
        session,
        actor,
        request,
        "priority",
        audit.AuditAction.SUPPORT_PRIORITY_CHANGED,
        {"from": str(previous), "to": str(priority)},
    )


def resolve(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    outcome: Outcome,
    note: str,
    now: dt.datetime | None = None,
) -> None:
    """Resolve with an outcome (and what was done, in a sentence: kept in the history,
    card numbers masked). The interaction's outcome is set."""
    _active(request)
    note = scrub(note.strip())
    if not note:
        raise SupportRefused("resolve-note", _("Say in a few words what was done."))
    if len(note) > NOTE_MAX_LENGTH:
        raise SupportRefused(
            "resolve-note",
            _("Keep the note under %(max)d characters.") % {"max": NOTE_MAX_LENGTH},
        )
    request.interaction.outcome = outcome
    move(session, actor, request, S.RESOLVED, now, outcome=str(outcome), note=note)
