"""A support request's history: one line per change, written with its audit event.

`record` is the only way a change is logged, so the request's page and the audit chain
always tell the same story. History rows are append-only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.models import SupportRequest, SupportRequestEvent


def record(
    session: Session,
    actor: Actor,
    request: SupportRequest,
    kind: str,
    action: audit.AuditAction,
    details: dict[str, Any] | None = None,
    *,
    text: str | None = None,
) -> SupportRequestEvent:
    """Append `kind` (created, assigned, status, priority, reply, note …) to the request's
    history and `action` to the audit chain, both in the caller's transaction. `text`
    (what a reply said) is kept in the history only: the trail records that it was sent."""
    event = SupportRequestEvent(
        request_id=request.id,
        at=utcnow(),
        actor=str(actor),
        staff_user_id=actor.staff_user_id,
        kind=kind,
        details={**(details or {}), **({"text": text} if text is not None else {})},
    )
    session.add(event)
    audit.record(
        session,
        actor,
        action,
        "support_request",
        request.reference,
        {"kind": kind, **(details or {})},
    )
    return event
