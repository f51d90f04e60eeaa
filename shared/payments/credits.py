"""Credits: money a customer paid beyond what their bills owed.

The hold (`shared.payments.holds`) stops a second payment of an in-doubt amount, but a
processor can still approve one that overpays: a race the hold did not see, a
processor-side retry. Such money is never absorbed silently: posting caps the bill at
what it owed and keeps the excess as an open credit on the account (taken off its
balance: balance = open bills − open credits), with an overpayment exception opened at
once so someone refunds it. A balance refresh recomputes both parts and never erases a
credit; only a refund, or voiding the payment that made it, closes one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.exceptions import cases
from shared.models import AccountCredit, ExceptionKind, Payment

# Where money held for customers is booked until refunded (a liability, not fee revenue).
CREDITS_GL_ACCOUNT = "2150-customer-credits"


def keep_excess(
    session: Session,
    payment: Payment,
    invoice_id: int,
    invoice_number: str,
    account_id: int,
    excess: int,
    actor: Actor,
) -> AccountCredit:
    """Record what `payment` paid beyond bill `invoice_number`'s amount as a credit, and
    open the overpayment exception (refund prefilled from it)."""
    credit = AccountCredit(
        account_id=account_id,
        payment_id=payment.id,
        invoice_id=invoice_id,
        amount=excess,
        remaining=excess,
        gl_account=CREDITS_GL_ACCOUNT,
        reason=f"{payment.transaction_id} paid {excess} beyond what {invoice_number} owed",
    )
    session.add(credit)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.CREDIT_CREATED,
        "account_credit",
        credit.id,
        {
            "transaction_id": payment.transaction_id,
            "invoice": invoice_number,
            "amount": excess,
        },
    )
    cases.open_case(
        session,
        actor,
        ExceptionKind.OVERPAYMENT,
        f"{payment.transaction_id}:{invoice_number}",
        payment_id=payment.id,
        customer_id=payment.customer_id,
        account_id=account_id,
        amount=excess,
        details={
            "transaction_id": payment.transaction_id,
            "invoice": invoice_number,
            "credit_id": credit.id,
        },
    )
    return credit


def of_payment(session: Session, payment_id: int) -> list[AccountCredit]:
    return list(
        session.scalars(
            select(AccountCredit)
            .where(AccountCredit.payment_id == payment_id)
            .order_by(AccountCredit.id)
        )
    )
