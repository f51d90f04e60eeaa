"""SLA timers of support requests: a first response and a resolution due per priority,
paused while the request waits on the customer.

The due times are stored, not recomputed: a request starts with `created + target`, and
every pause moves them later by its length when it ends. So "breached" and "at risk" are
plain comparisons the queue can filter on in SQL. While a request is paused, its clock
stands still at `paused_since`, so a request waiting on the customer never breaches.
Targets run on calendar time (the settings say how long; a team that works office hours
sets them accordingly).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, literal, or_

from shared.config import Settings
from shared.db import UTCDateTime
from shared.models import SupportPriority, SupportRequest, SupportStatus

ACTIVE = (SupportStatus.NEW, SupportStatus.OPEN, SupportStatus.WAITING)


@dataclass(frozen=True, slots=True)
class Target:
    first_response: dt.timedelta
    resolution: dt.timedelta


@dataclass(frozen=True, slots=True)
class Targets:
    """Per priority, how long until the first response and the resolution are due, and
    the share of that time after which a request is at risk."""

    by_priority: dict[SupportPriority, Target]
    at_risk_percent: int = 75

    @classmethod
    def from_settings(cls, settings: Settings) -> Targets:
        return cls(
            {
                SupportPriority(priority): Target(
                    dt.timedelta(minutes=first), dt.timedelta(minutes=resolution)
                )
                for priority, first, resolution in settings.support_sla
            },
            settings.support_sla_at_risk_percent,
        )

    def risk_after(self, span: dt.timedelta) -> dt.timedelta:
        return span * self.at_risk_percent / 100


def start(request: SupportRequest, targets: Targets, now: dt.datetime) -> None:
    """Set the clocks of a new request (or of one whose priority changed: from its
    creation, less nothing, plus the pauses it has had)."""
    target = targets.by_priority[request.priority]
    began = request.created_at or now
    paused = dt.timedelta(seconds=request.paused_seconds or 0)
    request.first_response_due_at = began + target.first_response + paused
    request.first_response_risk_at = began + targets.risk_after(target.first_response) + paused
    request.resolution_due_at = began + target.resolution + paused
    request.resolution_risk_at = began + targets.risk_after(target.resolution) + paused


def pause(request: SupportRequest, now: dt.datetime) -> None:
    if request.paused_since is None:
        request.paused_since = now


def resume(request: SupportRequest, now: dt.datetime) -> None:
    """Stop a pause: every due time moves later by how long it lasted."""
    if request.paused_since is None:
        return
    gap = max(now - request.paused_since, dt.timedelta(0))
    request.first_response_due_at += gap
    request.first_response_risk_at += gap
    request.resolution_due_at += gap
    request.resolution_risk_at += gap
    request.paused_seconds = (request.paused_seconds or 0) + int(gap.total_seconds())
    request.paused_since = None


class Standing(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"  # resolved or closed in time
    MISSED = "missed"  # resolved or closed, late


@dataclass(frozen=True, slots=True)
class Clock:
    """Where a request stands against its SLA now: which target runs (None once it is
    resolved), when it is due, and whether its clock is paused."""

    standing: Standing
    running: str | None  # "first_response" | "resolution"
    due: dt.datetime | None
    paused: bool


def clock(request: SupportRequest, now: dt.datetime) -> Clock:
    if request.status not in ACTIVE:
        done = request.resolved_at or request.closed_at or now
        late = done > request.resolution_due_at or (
            request.first_responded_at is not None
            and request.first_responded_at > request.first_response_due_at
        )
        return Clock(Standing.MISSED if late else Standing.MET, None, None, False)
    at = request.paused_since or now
    if request.first_responded_at is None:
        running, due, risk = (
            "first_response",
            request.first_response_due_at,
            request.first_response_risk_at,
        )
    else:
        running, due, risk = "resolution", request.resolution_due_at, request.resolution_risk_at
    breached = at > request.resolution_due_at or at > due
    standing = (
        Standing.BREACHED if breached else Standing.AT_RISK if at > risk else Standing.ON_TRACK
    )
    return Clock(standing, running, due, request.paused_since is not None)


def _stood_at(now: dt.datetime) -> ColumnElement[dt.datetime]:
    return func.coalesce(SupportRequest.paused_since, literal(now, UTCDateTime()))


def breached(now: dt.datetime) -> ColumnElement[bool]:
    """Active requests past a due time (as `clock` says BREACHED)."""
    at = _stood_at(now)
    return and_(
        SupportRequest.status.in_(ACTIVE),
        or_(
            at > SupportRequest.resolution_due_at,
            and_(
                SupportRequest.first_responded_at.is_(None),
                at > SupportRequest.first_response_due_at,
            ),
        ),
    )


def at_risk(now: dt.datetime) -> ColumnElement[bool]:
    """Active requests past the risk point of the target that runs, not breached yet."""
    at = _stood_at(now)
    return and_(
        SupportRequest.status.in_(ACTIVE),
        ~breached(now),
        or_(
            and_(
                SupportRequest.first_responded_at.is_(None),
                at > SupportRequest.first_response_risk_at,
            ),
            and_(
                SupportRequest.first_responded_at.is_not(None),
                at > SupportRequest.resolution_risk_at,
            ),
        ),
    )
