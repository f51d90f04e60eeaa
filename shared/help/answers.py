"""Help first: the answers a resident sees before the contact form, chosen from the live
state of what their page was about.

    being confirmed (pending, unknown, authorized)  -> "no need to pay again"
    posted, not settled                             -> received, reaches the city soon
    settled                                         -> complete; email my receipt
    an open possible-duplicate case names it        -> report a possible duplicate
    a write-back to the source system not confirmed -> why the balance still shows
    declined or failed / voided, refunded, reversed -> what that means

The words are help topics (data an administrator edits); the facts (amounts, dates,
where the payment stands) come from `shared.payments.status`, in the same language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.help import topics
from shared.help.context import Resolved
from shared.models import (
    Account,
    Allocation,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    Invoice,
    LinkKind,
    Payment,
    PaymentHold,
    PaymentStatus,
    WriteBack,
    WriteBackStatus,
)
from shared.payments.status import describe

S = PaymentStatus
CONFIRMING = frozenset({S.PENDING, S.UNKNOWN, S.AUTHORIZED})
NOT_TAKEN = frozenset({S.DECLINED, S.FAILED})
CORRECTED = frozenset({S.VOIDED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.REVERSED})
# How far back a bill's payments are looked at for "the balance still shows".
RECENT_PAYMENTS = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: the topic's words, the facts behind it, and what the person can do
    here ("email_receipt", "report_duplicate") if anything."""

    situation: str
    title: str
    body: str
    facts: tuple[str, ...] = ()
    action: str | None = None
    # The address on file, masked, when the action sends something there.
    masked_address: str | None = None


def mask_address(address: str) -> str:
    """j•••@example.com: enough to recognise one's own address, not to learn someone's."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def _situations(session: Session, payment: Payment) -> list[str]:
    found = []
    duplicate = session.scalar(
        select(ExceptionCase.id)
        .where(
            ExceptionCase.kind == ExceptionKind.POSSIBLE_DUPLICATE,
            ExceptionCase.status == ExceptionStatus.OPEN,
            ExceptionCase.subject.contains(payment.transaction_id, autoescape=True),
        )
        .limit(1)
    )
    if duplicate is not None:
        found.append("duplicate")
    if payment.status in CONFIRMING:
        found.append("confirming")
    elif payment.status is S.POSTED:
        found.append("posted")
    elif payment.status is S.SETTLED:
        found.append("settled")
    elif payment.status in NOT_TAKEN:
        found.append("not_taken")
    else:
        found.append("corrected")
    if payment.status in (S.POSTED, S.SETTLED) and _write_back_pending(session, [payment.id]):
        found.append("balance_showing")
    return found


def _write_back_pending(session: Session, payment_ids: list[int]) -> bool:
    return (
        session.scalar(
            select(WriteBack.id)
            .where(
                WriteBack.payment_id.in_(payment_ids),
                WriteBack.status == WriteBackStatus.PENDING,
            )
            .limit(1)
        )
        is not None
    )


def _bill_situations(
    session: Session, invoice_numbers: list[str], account_id: int | None
) -> list[str]:
    """For a bill or an account: a payment of it in doubt, or one whose news has not
    reached the billing system yet."""
    bills = select(Invoice.id).where(
        Invoice.invoice_number.in_(invoice_numbers)
        if invoice_numbers
        else Invoice.account_id == account_id
    )
    held = session.scalar(
        select(PaymentHold.id)
        .where(PaymentHold.invoice_id.in_(bills), PaymentHold.released_at.is_(None))
        .limit(1)
    )
    if held is not None:
        return ["confirming"]
    since = utcnow() - RECENT_PAYMENTS
    recent = list(
        session.scalars(
            select(Allocation.payment_id)
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Allocation.invoice_id.in_(bills), Payment.created_at >= since)
        )
    )
    return ["balance_showing"] if recent and _write_back_pending(session, recent) else []


def choose(session: Session, resolved: Resolved | None, locale: str, timezone: str) -> list[Answer]:
    """The answers for what the page was about, most pressing first (none without one)."""
    if resolved is None or resolved.about is None:
        return []
    payment = resolved.payment
    if payment is not None:
        situations = _situations(session, payment)
    else:
        invoices = [ref for kind, ref in resolved.about.links if kind is LinkKind.INVOICE]
        account = None
        if resolved.about.kind == "account":
            account = session.scalar(
                select(Account.id).where(Account.account_number == resolved.about.reference)
            )
        situations = _bill_situations(session, invoices, account)
    written = topics.for_situations(session)
    report = describe(payment, locale, timezone) if payment is not None else None
    answers = []
    for situation in situations:
        topic = written.get(situation)
        if topic is None:
            continue  # an administrator switched it off
        facts: tuple[str, ...] = ()
        action = masked = None
        if report is not None and situation not in ("duplicate", "balance_showing"):
            facts = (report.headline, *report.details)
        if situation == "duplicate":
            action = "report_duplicate"
        elif situation in ("settled", "posted") and resolved.receipt is not None and payment:
            on_file = payment.payer_email or (payment.customer.email if payment.customer else None)
            if on_file:
                action, masked = "email_receipt", mask_address(on_file)
        answers.append(
            Answer(situation, topic.title(locale), topic.body(locale), facts, action, masked)
        )
    return answers
