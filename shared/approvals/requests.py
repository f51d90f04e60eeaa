"""The approval request state machine, as one table, and the moves along it.

    pending ──► approved ──► executed
       │           └─ (carrying it out failed: stays approved, with the error, to retry)
       ├► rejected
       ├► expired      (not decided before `expires_at`)
       └► cancelled    (withdrawn by the requester)

Every move is audited. `decide` locks the row first (`SELECT … FOR UPDATE` on
PostgreSQL; SQLite has one writer at a time), so of two supervisors pressing "approve"
at once one decides and the other is told it is decided already.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.i18n import N_, gettext_
from shared.models import ApprovalAction, ApprovalRequest, ApprovalStatus, StaffUser

S = ApprovalStatus
TRANSITIONS: dict[ApprovalStatus, frozenset[ApprovalStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED}),
    S.APPROVED: frozenset({S.EXECUTED}),
    S.EXECUTED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}
_EVENTS = {
    S.APPROVED: audit.AuditAction.APPROVAL_APPROVED,
    S.REJECTED: audit.AuditAction.APPROVAL_REJECTED,
    S.EXPIRED: audit.AuditAction.APPROVAL_EXPIRED,
    S.CANCELLED: audit.AuditAction.APPROVAL_CANCELLED,
    S.EXECUTED: audit.AuditAction.APPROVAL_EXECUTED,
}
# The permission that decides each action.
APPROVE_PERMISSION = {
    ApprovalAction.REFUND: "refunds:approve",
    ApprovalAction.VOID: "voids:approve",
    ApprovalAction.REVERSAL: "reversals:approve",
    ApprovalAction.ADJUSTMENT: "adjustments:approve",
    ApprovalAction.OVERRIDE: "overrides:approve",
    ApprovalAction.DRAWER: "drawers:approve",
}
REQUEST_PERMISSION = {
    ApprovalAction.REFUND: "refunds:request",
    ApprovalAction.VOID: "voids:request",
    ApprovalAction.REVERSAL: "reversals:request",
    ApprovalAction.ADJUSTMENT: "adjustments:request",
    ApprovalAction.OVERRIDE: "overrides:request",
    ApprovalAction.DRAWER: "drawers:operate",
}


class ApprovalError(Exception):
    """The request cannot move that way; `message` says why, in the reader's language."""

    def __init__(self, code: str, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.code = code
        self._message, self._values = message, values

    @property
    def message(self) -> str:
        translated = gettext_(self._message)
        return translated % self._values if self._values else translated


class KeyReused(ApprovalError):
    def __init__(self) -> None:
        super().__init__(
            "key_reused",
            N_("This form was already used for a different request. Start again."),
        )


@dataclass(frozen=True, slots=True)
class Asked:
    """What is asked for, as the requester filled it in."""

    action: ApprovalAction
    reason_code: str
    comment: str
    amount: int | None = None
    payment_id: int | None = None
    account_id: int | None = None
    customer_id: int | None = None
    exception_id: int | None = None
    details: dict[str, Any] | None = None

    def fingerprint(self) -> str:
        data = {
            "action": self.action.value,
            "amount": self.amount,
            "payment": self.payment_id,
            "account": self.account_id,
            "details": self.details or {},
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _move(
    session: Session,
    request: ApprovalRequest,
    to: ApprovalStatus,
    actor: Actor,
    reason: str | None = None,
    **details: Any,
) -> None:
    if to not in TRANSITIONS[request.status]:
        raise ApprovalError(
            "decided",
            N_("This request is %(status)s already."),
            status=request.status.value,
        )
    request.status = to
    audit.record(
        session,
        actor,
        _EVENTS[to],
        "approval",
        request.id,
        {"action": request.action.value, "amount": request.amount, **details},
        reason,
    )


def ask(
    session: Session,
    asked: Asked,
    key: str,
    requester: StaffUser | None,
    actor: Actor,
    expires_after: dt.timedelta,
) -> ApprovalRequest:
    """Record a request (idempotent by the form's `key`: the same key and request give
    the request made the first time; a different request with it raises KeyReused).
    `requester` None: a report asked, not a person (a processor's chargeback)."""
    if not asked.reason_code or not asked.comment.strip():
        raise ApprovalError("reason", N_("Give a reason and say in a few words why."))
    found = session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.idempotency_key == key)
    ).one_or_none()
    if found is not None:
        if found.details.get("fingerprint") != asked.fingerprint():
            raise KeyReused()
        return found
    now = utcnow()
    request = ApprovalRequest(
        action=asked.action,
        status=S.PENDING,
        idempotency_key=key,
        payment_id=asked.payment_id,
        account_id=asked.account_id,
        customer_id=asked.customer_id,
        exception_id=asked.exception_id,
        amount=asked.amount,
        details={**(asked.details or {}), "fingerprint": asked.fingerprint()},
        reason_code=asked.reason_code,
        comment=asked.comment.strip(),
        requested_by_id=requester.id if requester else None,
        requested_at=now,
        expires_at=now + expires_after,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.APPROVAL_REQUESTED,
        "approval",
        request.id,
        {
            "action": asked.action.value,
            "amount": asked.amount,
            "payment_id": asked.payment_id,
            "account_id": asked.account_id,
            "reason_code": asked.reason_code,
        },
        request.comment,
    )
    return request


def locked(session: Session, request_id: int) -> ApprovalRequest | None:
    """The request, its row locked until the transaction ends (decisions queue here)."""
    return session.scalars(
        select(ApprovalRequest).where(ApprovalRequest.id == request_id).with_for_update()
    ).one_or_none()


def decide(
    session: Session,
    request: ApprovalRequest,
    decider: StaffUser,
    actor: Actor,
    *,
    approve: bool,
    comment: str,
    may_decide: bool,
    second_factor: bool,
) -> None:
    """Approve or reject `request` (lock it with `locked` first). Refused, whatever the
    caller's roles: deciding one's own request, without the `*:approve` permission for
    its action (`may_decide`), without a second factor at sign-in, or once it expired."""
    if request.status is not S.PENDING:
        raise ApprovalError(
            "decided", N_("This request is %(status)s already."), status=request.status.value
        )
    if request.expires_at <= utcnow():
        _move(session, request, S.EXPIRED, actor)
        raise ApprovalError("expired", N_("This request expired before anyone decided it."))
    if request.requested_by_id == decider.id:
        raise ApprovalError(
            "own_request",
            N_("You asked for this yourself: another person must decide it."),
        )
    if not may_decide:
        raise ApprovalError("not_allowed", N_("Your roles do not let you decide this request."))
    if not second_factor:
        raise ApprovalError(
            "second_factor",
            N_(
                "Deciding requests needs a sign-in with your authenticator code. "
                "Sign out, then sign in again with your code."
            ),
        )
    if approve is False and not comment.strip():
        raise ApprovalError("comment", N_("Say why you reject the request."))
    request.decided_by_id, request.decided_at = decider.id, utcnow()
    request.decision_comment = comment.strip() or None
    _move(session, request, S.APPROVED if approve else S.REJECTED, actor, request.decision_comment)


def approve_by_policy(
    session: Session, request: ApprovalRequest, actor: Actor, policy: str
) -> None:
    """Approve without a second person because a setting allows it (e.g. a cashier voiding
    their own counter payment within minutes); the audit trail names the policy."""
    request.decided_at = utcnow()
    request.decision_comment = policy
    _move(session, request, S.APPROVED, actor, policy, policy=True)


def executed(
    session: Session, request: ApprovalRequest, actor: Actor, result: dict[str, Any]
) -> None:
    request.executed_at, request.result = utcnow(), result
    _move(session, request, S.EXECUTED, actor, **result)


def failed(session: Session, request: ApprovalRequest, actor: Actor, error: str) -> None:
    """Carrying out an approved request failed: it stays approved, with the error, so it
    can be tried again (its processor key makes a retry safe)."""
    request.result = {"error": error, "failed_at": utcnow().isoformat()}
    audit.record(
        session,
        actor,
        audit.AuditAction.APPROVAL_FAILED,
        "approval",
        request.id,
        {"action": request.action.value, "error": error},
    )


def cancel(session: Session, request: ApprovalRequest, requester: StaffUser, actor: Actor) -> None:
    if request.requested_by_id != requester.id:
        raise ApprovalError("not_yours", N_("Only the person who asked can withdraw a request."))
    _move(session, request, S.CANCELLED, actor)


def expire_due(session: Session, actor: Actor) -> int:
    """Expire the pending requests past their time; returns how many."""
    due = list(
        session.scalars(
            select(ApprovalRequest)
            .where(ApprovalRequest.status == S.PENDING, ApprovalRequest.expires_at <= utcnow())
            .with_for_update(skip_locked=True)
            .limit(200)
        )
    )
    for request in due:
        _move(session, request, S.EXPIRED, actor)
    return len(due)
