"""Counter cash drawers: open with a float, take cash and cheques, count and close.

    open ──► closed                      (counted within the tolerance)
      └───► awaiting_approval ──► closed (a supervisor approved the over/short)
                     └──► (rejected or expired: count again)

The count freezes the drawer: payments taken after it go to no drawer (the cashier opens
a new one). A payment finds its drawer with the drawer row locked for share, and the
count locks it for update, so a payment and the count that closes its drawer never
interleave.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.approvals import requests
from shared.db import utcnow
from shared.i18n import N_, gettext_
from shared.models import (
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    Channel,
    DrawerSession,
    DrawerStatus,
    Payment,
    PaymentStatus,
    StaffUser,
    Tender,
)


@dataclass(frozen=True, slots=True)
class Denomination:
    key: str  # "note-2000": what the count form and the stored count use
    kind: str  # "note" or "coin"
    value: int  # minor units


def _denominations(notes: tuple[int, ...], coins: tuple[int, ...]) -> tuple[Denomination, ...]:
    return tuple(Denomination(f"note-{v}", "note", v) for v in notes) + tuple(
        Denomination(f"coin-{v}", "coin", v) for v in coins
    )


# Canada has had no penny since 2013 (cash totals round to 5 cents); the US $1 exists as
# both a note and a coin, hence the kind in the key.
DENOMINATIONS: dict[str, tuple[Denomination, ...]] = {
    "CAD": _denominations((10000, 5000, 2000, 1000, 500), (200, 100, 25, 10, 5)),
    "USD": _denominations((10000, 5000, 2000, 1000, 500, 200, 100), (100, 50, 25, 10, 5, 1)),
}
# Cash that stays in the drawer: what it holds back to the customer.
_CASH_KEPT = (
    PaymentStatus.POSTED,
    PaymentStatus.SETTLED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
# A counted drawer whose approval went nowhere may be counted again.
RECOUNT = (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED, ApprovalStatus.CANCELLED)
APPROVAL_HOURS = 72


class DrawerError(Exception):
    """The drawer cannot do that; `message` says why, in the reader's language."""

    def __init__(self, code: str, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.code = code
        self._message, self._values = message, values

    @property
    def message(self) -> str:
        translated = gettext_(self._message)
        return translated % self._values if self._values else translated


def denominations(currency: str) -> tuple[Denomination, ...]:
    try:
        return DENOMINATIONS[currency]
    except KeyError:
        raise DrawerError(
            "currency", N_("Drawers count %(currency)s in no denominations."), currency=currency
        ) from None


def unclosed(session: Session, staff_user_id: int) -> list[DrawerSession]:
    """The staff member's drawers not closed yet: the open one (at most one) first, then
    those whose count waits for a supervisor, newest first. A cashier waiting for an
    approval opens a new drawer meanwhile, so the cash taken in between has a drawer."""
    found = session.scalars(
        select(DrawerSession)
        .where(
            DrawerSession.staff_user_id == staff_user_id,
            DrawerSession.status != DrawerStatus.CLOSED,
        )
        .order_by(DrawerSession.id.desc())
    ).all()
    return sorted(found, key=lambda d: d.status is not DrawerStatus.OPEN)


def drawer_for(session: Session, channel: Channel, tender: Tender, actor: Actor) -> int | None:
    """The open drawer a counter cash or cheque payment goes into (None for anything else,
    or when the cashier has no drawer open). Locks the drawer row for share until the
    payment commits, so the count cannot close it under the payment."""
    if channel != Channel.COUNTER or tender == Tender.CARD or actor.staff_user_id is None:
        return None
    return session.scalars(
        select(DrawerSession.id)
        .where(
            DrawerSession.staff_user_id == actor.staff_user_id,
            DrawerSession.status == DrawerStatus.OPEN,
        )
        .with_for_update(read=True)
    ).first()


def open_drawer(
    session: Session,
    staff: StaffUser,
    actor: Actor,
    *,
    float_amount: int,
    currency: str,
    key: str,
    terminal_id: int | None = None,
) -> DrawerSession:
    """Open a drawer with `float_amount` in it. Idempotent by the form's `key`."""
    found = session.scalars(
        select(DrawerSession).where(DrawerSession.idempotency_key == key)
    ).one_or_none()
    if found is not None:
        if found.staff_user_id != staff.id or found.float_amount != float_amount:
            raise DrawerError("key_reused", N_("This form was used already. Start again."))
        return found
    if float_amount < 0:
        raise DrawerError("float", N_("The float cannot be negative."))
    denominations(currency)
    existing = unclosed(session, staff.id)
    if existing and existing[0].status is DrawerStatus.OPEN:
        raise DrawerError("already_open", N_("You have a drawer open already: close it first."))
    drawer = DrawerSession(
        staff_user_id=staff.id,
        terminal_id=terminal_id,
        status=DrawerStatus.OPEN,
        currency=currency,
        float_amount=float_amount,
        idempotency_key=key,
        opened_at=utcnow(),
        counts={},
    )
    session.add(drawer)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.DRAWER_OPENED,
        "drawer",
        drawer.id,
        {"float": float_amount, "currency": currency},
    )
    return drawer


@dataclass(frozen=True, slots=True)
class Expected:
    cash: int  # the float plus cash taken
    cheques: int
    cash_payments: int
    cheque_payments: int


def expected(session: Session, drawer: DrawerSession) -> Expected:
    """What the drawer should hold now: the float, the cash kept and the cheques taken."""
    rows = session.execute(
        select(
            Payment.tender,
            func.count(),
            func.coalesce(func.sum(Payment.amount - Payment.refunded_amount), 0),
        )
        .where(Payment.drawer_session_id == drawer.id, Payment.status.in_(_CASH_KEPT))
        .group_by(Payment.tender)
    ).all()
    by = {Tender(tender): (int(n), int(total)) for tender, n, total in rows}
    cash_n, cash = by.get(Tender.CASH, (0, 0))
    cheque_n, cheques = by.get(Tender.CHEQUE, (0, 0))
    return Expected(drawer.float_amount + cash, cheques, cash_n, cheque_n)


def counted_cash(currency: str, counts: dict[str, int]) -> int:
    """The cash total of a count by denomination; refuses unknown keys and negatives."""
    known = {d.key: d for d in denominations(currency)}
    total = 0
    for key, number in counts.items():
        if key not in known:
            raise DrawerError("denomination", N_("%(key)s is not a denomination."), key=key)
        if number < 0:
            raise DrawerError("negative", N_("A count cannot be negative."))
        total += known[key].value * number
    return total


def count(
    session: Session,
    drawer_id: int,
    staff: StaffUser,
    actor: Actor,
    *,
    counts: dict[str, int],
    cheques: int,
    tolerance: int,
    comment: str = "",
    key: str,
) -> DrawerSession:
    """Count the drawer and close it, or, past the tolerance, ask a supervisor to approve
    the over/short (the drawer waits, frozen). Idempotent: counting a drawer counted with
    the same form `key` gives it back as it is."""
    drawer = session.scalars(
        select(DrawerSession).where(DrawerSession.id == drawer_id).with_for_update()
    ).one_or_none()
    if drawer is None or drawer.staff_user_id != staff.id:
        raise DrawerError("not_yours", N_("Only the cashier who opened a drawer counts it."))
    if drawer.counts.get("_key") == key:
        return drawer  # a double submit of the same count
    if drawer.status is DrawerStatus.CLOSED:
        raise DrawerError("closed", N_("This drawer is closed already."))
    if drawer.status is DrawerStatus.AWAITING_APPROVAL:
        approval = session.get(ApprovalRequest, drawer.approval_id) if drawer.approval_id else None
        if approval is not None and approval.status not in RECOUNT:
            raise DrawerError("awaiting", N_("This count is waiting for a supervisor's approval."))
    if cheques < 0:
        raise DrawerError("negative", N_("A count cannot be negative."))
    cash = counted_cash(drawer.currency, counts)
    due = expected(session, drawer)
    now = utcnow()
    drawer.counts = {**{k: v for k, v in counts.items() if v}, "_key": key}
    drawer.counted_cash, drawer.counted_cheques = cash, cheques
    drawer.expected_cash, drawer.expected_cheques = due.cash, due.cheques
    drawer.counted_at = now
    over_short = drawer.over_short or 0
    audit.record(
        session,
        actor,
        audit.AuditAction.DRAWER_COUNTED,
        "drawer",
        drawer.id,
        {
            "expected_cash": due.cash,
            "expected_cheques": due.cheques,
            "counted_cash": cash,
            "counted_cheques": cheques,
            "over_short": over_short,
        },
    )
    if abs(over_short) <= tolerance:
        _close(session, drawer, actor, now)
        return drawer
    if not comment.strip():
        raise DrawerError(
            "comment",
            N_("The count is over or short by more than the tolerance: say what happened."),
        )
    drawer.status = DrawerStatus.AWAITING_APPROVAL
    asked = requests.Asked(
        action=ApprovalAction.DRAWER,
        reason_code="over" if over_short > 0 else "short",
        comment=comment,
        amount=over_short,
        details={"drawer_session_id": drawer.id, "count": key},
    )
    approval = requests.ask(
        session,
        asked,
        f"drawer-{drawer.id}-{key}",
        staff,
        actor,
        dt.timedelta(hours=APPROVAL_HOURS),
    )
    drawer.approval_id = approval.id
    return drawer


def _close(session: Session, drawer: DrawerSession, actor: Actor, now: dt.datetime) -> None:
    drawer.status, drawer.closed_at = DrawerStatus.CLOSED, now
    audit.record(
        session,
        actor,
        audit.AuditAction.DRAWER_CLOSED,
        "drawer",
        drawer.id,
        {"over_short": drawer.over_short, "approval": drawer.approval_id},
    )


def carry_out(session: Session, request: ApprovalRequest, actor: Actor) -> DrawerSession | None:
    """Close the drawer an approved over/short request is about (in the caller's
    transaction). None when the request is not an approved drawer request."""
    if request.action is not ApprovalAction.DRAWER or request.status is not ApprovalStatus.APPROVED:
        return None
    drawer = session.scalars(
        select(DrawerSession)
        .where(DrawerSession.id == int(request.details["drawer_session_id"]))
        .with_for_update()
    ).one()
    if drawer.status is DrawerStatus.AWAITING_APPROVAL and drawer.approval_id == request.id:
        _close(session, drawer, actor, utcnow())
    requests.executed(session, request, actor, {"drawer_session_id": drawer.id})
    return drawer


def payments_of(session: Session, drawer: DrawerSession) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.drawer_session_id == drawer.id)
            .order_by(Payment.created_at, Payment.id)
        )
    )
