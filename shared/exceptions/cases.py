"""Opening, claiming and resolving exceptions, each move audited.

`open_case` is idempotent by (kind, subject): whoever finds the same thing again (two
workers, a retried request, the next settlement import) finds the case already open and
adds nothing. The insert is `ON CONFLICT DO NOTHING` on both databases, so racing finders
never fail each other's transaction.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.messaging import webhooks
from shared.models import ExceptionCase, ExceptionKind, ExceptionStatus, StaffUser

CASES = cast(Table, ExceptionCase.__table__)


class CaseError(ValueError):
    """The case cannot move that way (already resolved, claimed by someone else …)."""


def open_case(
    session: Session,
    actor: Actor,
    kind: ExceptionKind,
    subject: str,
    *,
    payment_id: int | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    amount: int | None = None,
    details: dict[str, Any] | None = None,
) -> ExceptionCase:
    """The open or resolved case for (kind, subject), opened now if there is none."""
    values = {
        "kind": kind.value,
        "subject": subject,
        "status": ExceptionStatus.OPEN.value,
        "details": details or {},
        "payment_id": payment_id,
        "customer_id": customer_id,
        "account_id": account_id,
        "amount": amount,
        "opened_at": utcnow(),
    }
    dialect = session.connection().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(CASES)
    created = (
        session.connection()
        .execute(insert.values(values).on_conflict_do_nothing().returning(CASES.c.id))
        .scalar_one_or_none()
    )
    if created is not None:
        audit.record(
            session,
            actor,
            audit.AuditAction.EXCEPTION_OPENED,
            "exception",
            created,
            {"kind": kind.value, "subject": subject, "amount": amount},
        )
        webhooks.emit(
            session,
            "exception.opened",
            {"id": created, "kind": kind.value, "subject": subject, "amount": amount},
        )
    case = session.scalars(
        select(ExceptionCase).where(ExceptionCase.kind == kind, ExceptionCase.subject == subject)
    ).one()
    return case


def assign(session: Session, case: ExceptionCase, to: StaffUser, actor: Actor) -> None:
    """Give the case to someone (a claim is assigning it to oneself). Taking over another
    person's case is allowed (they may be away); the audit trail shows who had it."""
    _open(case)
    previous = case.assignee_id
    case.assignee_id, case.claimed_at = to.id, utcnow()
    audit.record(
        session,
        actor,
        audit.AuditAction.EXCEPTION_ASSIGNED,
        "exception",
        case.id,
        {"assignee": to.username, "previous_assignee_id": previous},
    )


def resolve(
    session: Session,
    case: ExceptionCase,
    outcome: str,
    note: str,
    by: StaffUser,
    actor: Actor,
) -> None:
    """Close the case with an outcome (what was done, or why nothing was needed)."""
    _open(case)
    case.status = ExceptionStatus.RESOLVED
    case.outcome, case.outcome_note = outcome, note
    case.resolved_at, case.resolved_by_id = utcnow(), by.id
    audit.record(
        session,
        actor,
        audit.AuditAction.EXCEPTION_RESOLVED,
        "exception",
        case.id,
        {"kind": str(case.kind), "subject": case.subject, "outcome": outcome},
        note,
    )


def _open(case: ExceptionCase) -> None:
    if case.status is not ExceptionStatus.OPEN:
        raise CaseError("This exception is already resolved.")
