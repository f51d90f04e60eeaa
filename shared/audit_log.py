"""Reading the audit trail: the events a filter chooses, newest first, a page at a time
(keyset on the sequence number, so page 1,000 costs what page 1 costs), or every one of
them in batches for an export. Writing and verifying the chain is `shared.audit`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import AuditEvent

PAGE = 100


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What the log shows: all of it by default."""

    actor: str | None = None  # an actor id (a username, a terminal code …), exactly
    action: str | None = None  # an event name, or its start ("payment:refund")
    object_type: str | None = None
    object_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    # Any of these (object type, object id) pairs: a customer's or a payment's trail.
    objects: Sequence[tuple[str, str]] = field(default_factory=tuple)

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor:
            found.append(AuditEvent.actor_id == self.actor)
        if self.action:
            found.append(
                or_(
                    AuditEvent.action == self.action,
                    AuditEvent.action.startswith(f"{self.action.rstrip(':')}:", autoescape=True),
                )
            )
        if self.object_type:
            found.append(AuditEvent.object_type == self.object_type)
        if self.object_id:
            found.append(AuditEvent.object_id == self.object_id)
        if self.since is not None:
            found.append(AuditEvent.at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.at < self.until)
        if self.objects:
            found.append(
                or_(
                    *(
                        and_(AuditEvent.object_type == kind, AuditEvent.object_id == ident)
                        for kind, ident in self.objects
                    )
                )
            )
        return found


def _newest_first(chosen: LogFilter, before: int | None) -> Select[AuditEvent]:
    statement = select(AuditEvent).where(*chosen.conditions())
    if before is not None:
        statement = statement.where(AuditEvent.seq < before)
    return statement.order_by(AuditEvent.seq.desc())


def page(
    session: Session, chosen: LogFilter, before: int | None = None, size: int = PAGE
) -> tuple[list[AuditEvent], int | None]:
    """One page of events, and the sequence number to continue before (None: the last)."""
    rows = list(session.scalars(_newest_first(chosen, before).limit(size + 1)))
    shown = rows[:size]
    return shown, shown[-1].seq if len(rows) > size else None


def batches(
    factory: sessionmaker[Session], chosen: LogFilter, size: int = 1000
) -> Iterator[list[AuditEvent]]:
    """Every event the filter chooses, newest first, `size` at a time, each batch read in a
    short session of its own (an export of millions never holds them all)."""
    before: int | None = None
    while True:
        with factory() as session:
            rows, before = page(session, chosen, before, size)
        if rows:
            yield rows
        if before is None:
            return
