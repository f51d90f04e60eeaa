"""What the payment page offers to correct a payment, and the requests already made.

Words for the actions, reasons and request states live here too: the approvals queue and
the customer view's adjustment page use the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.exceptions import queue
from shared.i18n import gettext_ as _
from shared.models import (
    Allocation,
    ApprovalRequest,
    ExceptionCase,
    Invoice,
    Payment,
    StaffUser,
)
from shared.money import Money
from shared.payments import corrections, reopening
from staff.access import StaffContext


def action_names() -> dict[str, str]:
    return {
        "refund": _("Refund"),
        "void": _("Void"),
        "reversal": _("Reversal"),
        "adjustment": _("Adjustment"),
        "override": _("Override"),
        "drawer_over_short": _("Cash drawer over/short"),
    }


def reason_names() -> dict[str, str]:
    return {
        "duplicate": _("Paid twice"),
        "overpayment": _("Paid more than owed"),
        "service_not_provided": _("Service not provided"),
        "error": _("Taken in error"),
        "wrong_amount": _("Wrong amount"),
        "wrong_bill": _("Wrong bill"),
        "chargeback": _("Chargeback"),
        "nsf_cheque": _("Returned cheque (NSF)"),
        "bank_return": _("Bank return"),
        "waive_fee": _("Fee waived"),
        "correct_error": _("Correcting an error"),
        "goodwill": _("Goodwill"),
        "payment_in_doubt": _("A card payment for the bill is in doubt"),
        "account_on_hold": _("Account on hold"),
        "account_closed": _("Account closed"),
        "other": _("Other"),
        "over": _("Drawer over"),
        "short": _("Drawer short"),
    }


def status_names() -> dict[str, str]:
    return {
        "pending": _("Waiting for approval"),
        "approved": _("Approved, not carried out yet"),
        "executed": _("Done"),
        "rejected": _("Rejected"),
        "expired": _("Expired"),
        "cancelled": _("Withdrawn"),
    }


@dataclass
class Panel:
    """The corrective actions a member of staff may ask for on one payment."""

    requests: list[tuple[ApprovalRequest, StaffUser | None, StaffUser | None]]
    cases: list[ExceptionCase]
    refundable: int
    credit: int
    bills: list[reopening.Part]
    may_refund: bool
    may_void: bool
    may_reverse: bool
    bill_numbers: dict[int, str] = field(default_factory=dict)
    # What the refund form offers first: the credit, or all that is left.
    default_refund: str = ""


def panel(db: Session, payment: Payment, staff: StaffContext) -> Panel:
    requesters = {
        r.id: r
        for r in db.scalars(
            select(StaffUser)
            .join(
                ApprovalRequest,
                (ApprovalRequest.requested_by_id == StaffUser.id)
                | (ApprovalRequest.decided_by_id == StaffUser.id),
            )
            .where(ApprovalRequest.payment_id == payment.id)
        )
    }
    asked = db.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.payment_id == payment.id)
        .order_by(ApprovalRequest.id.desc())
    ).all()
    refundable = corrections.refundable(db, payment)
    credit = corrections.credit_left(db, payment)
    unsettled = payment.settlement_batch is None
    return Panel(
        requests=[
            (r, requesters.get(r.requested_by_id or 0), requesters.get(r.decided_by_id or 0))
            for r in asked
        ],
        cases=queue.open_for_payment(db, payment),
        refundable=refundable,
        credit=credit,
        bills=reopening.still_paid(db, payment.id),
        may_refund=staff.can("refunds:request") and refundable > 0,
        may_void=staff.can("voids:request")
        and payment.status in corrections.VOIDABLE
        and unsettled,
        may_reverse=staff.can("reversals:request") and payment.status in corrections.REVERSIBLE,
        bill_numbers=dict(
            db.execute(
                select(Invoice.id, Invoice.invoice_number)
                .join(Allocation, Allocation.invoice_id == Invoice.id)
                .where(Allocation.payment_id == payment.id)
            ).all()
        ),
        default_refund=Money(credit or refundable, payment.currency).plain(),
    )
