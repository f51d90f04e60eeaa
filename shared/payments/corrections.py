"""Corrective actions: asking for a refund, void, reversal, adjustment or override, and
carrying one out once it is approved (`shared.approvals` decides who may approve).

| action     | when                                   | effect                                     |
|------------|----------------------------------------|--------------------------------------------|
| void       | authorized or posted, not settled      | processor void; the bills reopen; credits  |
|            |                                        | of the payment are cancelled               |
| refund     | a card payment posted or settled; full | processor refund of at most what is left;  |
|            | or partial, several partials allowed   | off the bills chosen (or in proportion), or|
|            |                                        | paid out of the payment's credit           |
| reversal   | chargeback, returned cheque, bank      | the bills reopen; the account is flagged   |
|            | return (recorded, no processor call)   | (a reversal exception)                     |
| adjustment | credit or debit to an account          | a bill's amount changes, or a credit or a  |
|            |                                        | new bill is made, with its GL coding       |
| override   | a held bill, an account on hold/closed | the counter may take that payment, once    |

Carrying out is exactly once: the approval request's id is the processor's idempotency
key (`approval-<id>`), so a retry after a timeout or a crash finds the processor's first
answer, and a request is `executed` in the transaction that records the correction. The
payer hears of a void or refund by email (the receipt again, showing it), and source
systems of reopened bills get a write-back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared import audit
from shared.actors import Actor
from shared.approvals import requests
from shared.approvals.requests import ApprovalError, Asked
from shared.db import utcnow
from shared.exceptions import cases
from shared.gateway.protocol import GatewayError, GatewayTimeout, PaymentGateway
from shared.i18n import N_
from shared.messaging import outbox, write_back
from shared.models import (
    Account,
    AccountCredit,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    Channel,
    Correction,
    CorrectionKind,
    CorrectionLine,
    CreditStatus,
    ExceptionKind,
    FeeType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    StaffUser,
    Tender,
)
from shared.money import Money
from shared.payments import reopening
from shared.payments.states import move
from shared.receipts import numbering as receipts
from shared.receipts.email import RECEIPT_EMAIL

S = PaymentStatus
VOIDABLE = (S.AUTHORIZED, S.POSTED)
REFUNDABLE = (S.POSTED, S.SETTLED, S.PARTIALLY_REFUNDED)
REVERSIBLE = (S.POSTED, S.SETTLED, S.PARTIALLY_REFUNDED)
# Why a correction is asked for: a code the reports group by, with a comment in words.
REASONS: dict[ApprovalAction, tuple[str, ...]] = {
    ApprovalAction.REFUND: ("duplicate", "overpayment", "service_not_provided", "error", "other"),
    ApprovalAction.VOID: ("duplicate", "wrong_amount", "wrong_bill", "error", "other"),
    ApprovalAction.REVERSAL: ("chargeback", "nsf_cheque", "bank_return"),
    ApprovalAction.ADJUSTMENT: ("waive_fee", "correct_error", "goodwill", "other"),
    ApprovalAction.OVERRIDE: ("payment_in_doubt", "account_on_hold", "account_closed", "other"),
}
_APPLIED = (S.POSTED, S.SETTLED, S.PARTIALLY_REFUNDED)


def _money(payment: Payment, minor: int) -> str:
    return Money(minor, payment.currency).format(payment.locale)


def _check_reason(action: ApprovalAction, reason_code: str) -> None:
    if reason_code not in REASONS[action]:
        raise ApprovalError("reason", N_("Choose a reason from the list."))


def asked_refunds(session: Session, payment_id: int) -> int:
    """Refunds asked for and not yet carried out (pending or approved)."""
    total = session.scalar(
        select(func.sum(ApprovalRequest.amount)).where(
            ApprovalRequest.payment_id == payment_id,
            ApprovalRequest.action == ApprovalAction.REFUND,
            ApprovalRequest.status.in_((ApprovalStatus.PENDING, ApprovalStatus.APPROVED)),
        )
    )
    return int(total or 0)


def refundable(session: Session, payment: Payment) -> int:
    """What may still be asked back: paid, less refunded, less refunds already asked for."""
    if payment.tender is not Tender.CARD or payment.status not in REFUNDABLE:
        return 0
    return max(payment.amount - payment.refunded_amount - asked_refunds(session, payment.id), 0)


def credit_left(session: Session, payment: Payment) -> int:
    """What is left of the credits this payment made (money it paid beyond its bills)."""
    return sum(c.remaining for c in reopening.open_credits(session, payment.id))


# -- asking ---------------------------------------------------------------------------


def ask_refund(
    session: Session,
    payment: Payment,
    amount: int,
    *,
    lines: Mapping[int, int] | None = None,
    from_credit: bool = False,
    reason_code: str,
    comment: str,
    requester: StaffUser,
    actor: Actor,
    key: str,
    expires_after: dt.timedelta,
    exception_id: int | None = None,
) -> ApprovalRequest:
    """Ask to refund `amount` of a card payment: off the bills in `lines` (invoice id ->
    amount), in proportion to what it paid on each, or out of its credit."""
    _check_reason(ApprovalAction.REFUND, reason_code)
    if payment.tender is not Tender.CARD:
        raise ApprovalError(
            "not_card",
            N_("Only card payments are refunded here. Void a cash or cheque payment instead."),
        )
    if payment.status not in REFUNDABLE:
        raise ApprovalError(
            "not_refundable",
            N_("A payment that is %(status)s cannot be refunded."),
            status=payment.status.value,
        )
    left = refundable(session, payment)
    if amount <= 0 or amount > left:
        raise ApprovalError(
            "exceeds",
            N_("At most %(amount)s can still be refunded on this payment."),
            amount=_money(payment, left),
        )
    if from_credit and amount > credit_left(session, payment):
        raise ApprovalError(
            "exceeds_credit",
            N_("This payment's credit is %(amount)s; refund at most that from it."),
            amount=_money(payment, credit_left(session, payment)),
        )
    if lines is not None:
        paid = {p.invoice_id: p.amount for p in reopening.still_paid(session, payment.id)}
        if sum(lines.values()) != amount or any(
            v < 0 or v > paid.get(k, 0) for k, v in lines.items()
        ):
            raise ApprovalError(
                "lines",
                N_("The amounts per bill must add up to the refund, each at most what was paid."),
            )
    details = {"from_credit": from_credit, "lines": {str(k): v for k, v in (lines or {}).items()}}
    return requests.ask(
        session,
        Asked(
            ApprovalAction.REFUND,
            reason_code,
            comment,
            amount=amount,
            payment_id=payment.id,
            customer_id=payment.customer_id,
            exception_id=exception_id,
            details=details,
        ),
        key,
        requester,
        actor,
        expires_after,
    )


def ask_void(
    session: Session,
    gateway: PaymentGateway,
    payment: Payment,
    *,
    reason_code: str,
    comment: str,
    requester: StaffUser,
    actor: Actor,
    key: str,
    expires_after: dt.timedelta,
    self_void_within: dt.timedelta = dt.timedelta(0),
    exception_id: int | None = None,
) -> ApprovalRequest:
    """Ask to void a payment not yet settled. A cashier voiding their own counter payment
    within `self_void_within` of taking it needs no approval: it is voided at once."""
    _check_reason(ApprovalAction.VOID, reason_code)
    if payment.status is S.SETTLED or payment.settlement_batch:
        raise ApprovalError(
            "settled",
            N_("This payment is settled, so it cannot be voided. Ask for a refund instead."),
        )
    if payment.status not in VOIDABLE:
        raise ApprovalError(
            "not_voidable",
            N_("A payment that is %(status)s cannot be voided."),
            status=payment.status.value,
        )
    request = requests.ask(
        session,
        Asked(
            ApprovalAction.VOID,
            reason_code,
            comment,
            amount=payment.amount,
            payment_id=payment.id,
            customer_id=payment.customer_id,
            exception_id=exception_id,
        ),
        key,
        requester,
        actor,
        expires_after,
    )
    own_counter_payment = (
        payment.channel == Channel.COUNTER and payment.staff_user_id == requester.id
    )
    recent = payment.created_at > request.requested_at - self_void_within
    if request.status is ApprovalStatus.PENDING and own_counter_payment and recent:
        minutes = int(self_void_within.total_seconds() // 60)
        requests.approve_by_policy(
            session,
            request,
            actor,
            f"own counter payment voided within {minutes} minutes (PAYDESK_SELF_VOID_MINUTES)",
        )
        session.commit()
        carry_out(session, gateway, request, actor)
    return request


def ask_reversal(
    session: Session,
    payment: Payment,
    *,
    reason_code: str,
    comment: str,
    requester: StaffUser,
    actor: Actor,
    key: str,
    expires_after: dt.timedelta,
) -> ApprovalRequest:
    """Record that the money came back out (a chargeback, a returned cheque, a bank
    return): the bills reopen once a supervisor approves."""
    _check_reason(ApprovalAction.REVERSAL, reason_code)
    if payment.status not in REVERSIBLE:
        raise ApprovalError(
            "not_reversible",
            N_("A payment that is %(status)s cannot be reversed."),
            status=payment.status.value,
        )
    return requests.ask(
        session,
        Asked(
            ApprovalAction.REVERSAL,
            reason_code,
            comment,
            amount=payment.amount - payment.refunded_amount,
            payment_id=payment.id,
            customer_id=payment.customer_id,
        ),
        key,
        requester,
        actor,
        expires_after,
    )


def _chargeback_key(batch_id: str, payment: Payment) -> str:
    return f"chargeback:{batch_id}:{payment.transaction_id}"


def chargeback_recorded(session: Session, batch_id: str, payment: Payment) -> bool:
    """The batch's chargeback of this payment was recorded already (a report read twice)."""
    key = _chargeback_key(batch_id, payment)
    found = select(ApprovalRequest.id).where(ApprovalRequest.idempotency_key == key)
    return session.scalar(found) is not None


def record_chargeback(
    session: Session, payment: Payment, *, batch_id: str, actor: Actor
) -> ApprovalRequest:
    """The card processor's settlement report says the cardholder's bank took the payment
    back: record the reversal now, in the caller's transaction. Nobody on staff asked and
    nobody needs to approve a fact the processor reports, so the request is the report's
    (no requester) and approved by that policy; the reversal exception it opens is where
    a person follows up. Once per batch and payment (the request's key)."""
    key = _chargeback_key(batch_id, payment)
    comment = f"Charged back by the card processor (settlement batch {batch_id})"
    request = requests.ask(
        session,
        Asked(
            ApprovalAction.REVERSAL,
            "chargeback",
            comment,
            amount=payment.amount - payment.refunded_amount,
            payment_id=payment.id,
            customer_id=payment.customer_id,
        ),
        key,
        None,
        actor,
        dt.timedelta(0),
    )
    if request.status is ApprovalStatus.PENDING:
        requests.approve_by_policy(
            session, request, actor, f"reported by the card processor in batch {batch_id}"
        )
        correction = _reversal(session, None, request, actor)
        requests.executed(session, request, actor, {"correction_id": correction.id})
    return request


def ask_adjustment(
    session: Session,
    account: Account,
    amount: int,
    *,
    direction: str,
    invoice: Invoice | None,
    fee_type: FeeType | None,
    currency: str,
    locale: str,
    reason_code: str,
    comment: str,
    requester: StaffUser,
    actor: Actor,
    key: str,
    expires_after: dt.timedelta,
) -> ApprovalRequest:
    """Ask to credit (lower) or debit (raise) what an account owes: on one of its bills,
    or as a credit / a new bill of `fee_type` (whose GL account codes it)."""
    _check_reason(ApprovalAction.ADJUSTMENT, reason_code)
    if direction not in ("credit", "debit"):
        raise ApprovalError("direction", N_("Choose a credit or a debit."))
    if amount <= 0:
        raise ApprovalError("amount", N_("Enter an amount more than zero."))
    if invoice is not None and invoice.account_id != account.id:
        raise ApprovalError("invoice", N_("That bill is not on this account."))
    if invoice is not None and direction == "credit" and amount > invoice.owing:
        raise ApprovalError(
            "exceeds",
            N_("Bill %(number)s owes %(owing)s; a credit to it can be at most that."),
            number=invoice.invoice_number,
            owing=Money(invoice.owing, currency).format(locale),
        )
    if invoice is None and fee_type is None:
        raise ApprovalError("coding", N_("Choose the bill, or the fee type that codes it."))
    details: dict[str, Any] = {
        "direction": direction,
        "invoice_id": invoice.id if invoice else None,
        "fee_type_id": fee_type.id if fee_type else None,
    }
    return requests.ask(
        session,
        Asked(
            ApprovalAction.ADJUSTMENT,
            reason_code,
            comment,
            amount=amount,
            account_id=account.id,
            customer_id=account.customer_id,
            details=details,
        ),
        key,
        requester,
        actor,
        expires_after,
    )


def ask_override(
    session: Session,
    customer_id: int,
    invoice_numbers: list[str],
    *,
    reason_code: str,
    comment: str,
    requester: StaffUser,
    actor: Actor,
    key: str,
    expires_after: dt.timedelta,
) -> ApprovalRequest:
    """Ask to take one payment at the counter on bills that are held (a card payment for
    them is in doubt) or on an account on hold or closed."""
    _check_reason(ApprovalAction.OVERRIDE, reason_code)
    if not invoice_numbers:
        raise ApprovalError("bills", N_("Choose the bills the override is for."))
    return requests.ask(
        session,
        Asked(
            ApprovalAction.OVERRIDE,
            reason_code,
            comment,
            customer_id=customer_id,
            details={"invoices": sorted(invoice_numbers)},
        ),
        key,
        requester,
        actor,
        expires_after,
    )


def usable_override(
    session: Session, request_id: int, requester: StaffUser, customer_id: int
) -> ApprovalRequest | None:
    """The approved, unused override `requester` asked for this customer, if it is one."""
    request = session.get(ApprovalRequest, request_id)
    usable = (
        request is not None
        and request.action is ApprovalAction.OVERRIDE
        and request.status is ApprovalStatus.APPROVED
        and request.requested_by_id == requester.id
        and request.customer_id == customer_id
    )
    return request if usable else None


def use_override(
    session: Session, request: ApprovalRequest, payment: Payment, actor: Actor
) -> None:
    """The override let `payment` be taken: it is used up (in the payment's transaction,
    its row locked, so two tabs cannot both use it)."""
    locked = requests.locked(session, request.id)
    if locked is None or locked.status is not ApprovalStatus.APPROVED:
        raise ApprovalError("override_used", N_("This override was used already."))
    audit.record(
        session,
        actor,
        audit.AuditAction.OVERRIDE_USED,
        "payment",
        payment.transaction_id,
        {"approval": request.id, "invoices": request.details.get("invoices", [])},
    )
    requests.executed(session, request, actor, {"transaction_id": payment.transaction_id})


# -- carrying out ---------------------------------------------------------------------


_NOT_CARRIED_OUT = (ApprovalAction.OVERRIDE, ApprovalAction.DRAWER)


def carry_out(
    session: Session, gateway: PaymentGateway, request: ApprovalRequest, actor: Actor
) -> Correction | None:
    """Carry out an approved request, in its own transaction (committed here). Returns the
    correction, or None when it could not be done now (the request keeps the error; a
    processor that did not answer is asked again by the worker with the same key)."""
    request = requests.locked(session, request.id) or request
    # An override is used by its payment; a drawer's over/short closes with its decision.
    if request.status is not ApprovalStatus.APPROVED or request.action in _NOT_CARRIED_OUT:
        session.rollback()
        return None
    try:
        correction = _CARRY_OUT[request.action](session, gateway, request, actor)
    except GatewayTimeout:
        session.rollback()
        request = requests.locked(session, request.id) or request
        requests.failed(session, request, actor, "The card processor did not answer; retrying.")
        request.result = {**request.result, "retry": True}
        session.commit()
        return None
    except (GatewayError, ApprovalError) as error:
        session.rollback()
        request = requests.locked(session, request.id) or request
        requests.failed(
            session,
            request,
            actor,
            error.message if isinstance(error, GatewayError) else str(error),
        )
        session.commit()
        return None
    requests.executed(
        session,
        request,
        actor,
        {"correction_id": correction.id, "gateway_reference": correction.gateway_reference},
    )
    session.commit()
    return correction


def _locked_payment(session: Session, request: ApprovalRequest) -> Payment:
    payment = session.scalars(
        select(Payment).where(Payment.id == request.payment_id).with_for_update()
    ).one()
    return payment


def _new_correction(
    session: Session, kind: CorrectionKind, request: ApprovalRequest, amount: int
) -> Correction:
    correction = Correction(
        kind=kind,
        approval_id=request.id,
        payment_id=request.payment_id,
        account_id=request.account_id,
        amount=amount,
    )
    session.add(correction)
    return correction


def _void(
    session: Session, gateway: PaymentGateway, request: ApprovalRequest, actor: Actor
) -> Correction:
    payment = _locked_payment(session, request)
    if payment.status not in VOIDABLE or payment.settlement_batch:
        raise ApprovalError(
            "not_voidable",
            N_("This payment is %(status)s now and cannot be voided; refund it instead."),
            status=payment.status.value,
        )
    correction = _new_correction(session, CorrectionKind.VOID, request, payment.amount)
    if payment.tender is Tender.CARD and payment.gateway_reference:
        answer = gateway.void(reference=payment.gateway_reference, our_key=f"approval-{request.id}")
        correction.gateway_reference = answer.reference
    credits = reopening.open_credits(session, payment.id)
    reopening.take_off_credits(
        session, correction, credits, sum(c.remaining for c in credits), CreditStatus.CANCELLED
    )
    if payment.status in _APPLIED:
        reopening.take_off_bills(session, correction, reopening.still_paid(session, payment.id))
    move(session, payment, S.VOIDED, actor, f"Voided: {request.comment}")
    _finish(session, correction, payment, request, actor, audit.AuditAction.VOID_EXECUTED)
    return correction


def _refund(
    session: Session, gateway: PaymentGateway, request: ApprovalRequest, actor: Actor
) -> Correction:
    payment = _locked_payment(session, request)
    amount = int(request.amount or 0)
    left = payment.amount - payment.refunded_amount
    if payment.status not in REFUNDABLE or amount > left:
        raise ApprovalError(
            "exceeds",
            N_("At most %(amount)s can still be refunded on this payment."),
            amount=_money(payment, left if payment.status in REFUNDABLE else 0),
        )
    correction = _new_correction(session, CorrectionKind.REFUND, request, amount)
    if request.details.get("from_credit"):
        credits = reopening.open_credits(session, payment.id)
        if (
            reopening.take_off_credits(session, correction, credits, amount, CreditStatus.REFUNDED)
            != amount
        ):
            raise ApprovalError(
                "exceeds_credit", N_("The payment's credit is less than the refund now.")
            )
    else:
        paid = reopening.still_paid(session, payment.id)
        chosen = {int(k): v for k, v in request.details.get("lines", {}).items() if v}
        parts = (
            [
                reopening.Part(p.invoice_id, p.account_id, p.gl_account, chosen[p.invoice_id])
                for p in paid
                if p.invoice_id in chosen
            ]
            if chosen
            else reopening.proportional(paid, min(amount, sum(p.amount for p in paid)))
        )
        reopening.take_off_bills(session, correction, parts)
        rest = amount - sum(p.amount for p in parts)
        if rest:  # what the bills do not hold any more sits in the payment's credit
            reopening.take_off_credits(
                session,
                correction,
                reopening.open_credits(session, payment.id),
                rest,
                CreditStatus.REFUNDED,
            )
    assert payment.gateway_reference is not None
    answer = gateway.refund(
        reference=payment.gateway_reference, amount=amount, our_key=f"approval-{request.id}"
    )
    correction.gateway_reference = answer.reference
    refunded = payment.refunded_amount + amount
    to = S.REFUNDED if refunded == payment.amount else S.PARTIALLY_REFUNDED
    move(
        session,
        payment,
        to,
        actor,
        f"Refunded {amount}: {request.comment}",
        refunded_amount=refunded,
    )
    _finish(session, correction, payment, request, actor, audit.AuditAction.REFUND_EXECUTED)
    return correction


def _reversal(
    session: Session, gateway: PaymentGateway | None, request: ApprovalRequest, actor: Actor
) -> Correction:
    payment = _locked_payment(session, request)
    if payment.status not in REVERSIBLE:
        raise ApprovalError(
            "not_reversible",
            N_("A payment that is %(status)s cannot be reversed."),
            status=payment.status.value,
        )
    amount = payment.amount - payment.refunded_amount
    correction = _new_correction(session, CorrectionKind.REVERSAL, request, amount)
    reopening.take_off_bills(session, correction, reopening.still_paid(session, payment.id))
    credits = reopening.open_credits(session, payment.id)
    reopening.take_off_credits(
        session, correction, credits, sum(c.remaining for c in credits), CreditStatus.CANCELLED
    )
    move(
        session, payment, S.REVERSED, actor, f"Reversed ({request.reason_code}): {request.comment}"
    )
    cases.open_case(
        session,
        actor,
        ExceptionKind.REVERSAL,
        payment.transaction_id,
        payment_id=payment.id,
        customer_id=payment.customer_id,
        amount=amount,
        details={"kind": request.reason_code, "transaction_id": payment.transaction_id},
    )
    _finish(session, correction, payment, request, actor, audit.AuditAction.REVERSAL_RECORDED)
    return correction


def _adjustment(
    session: Session, gateway: PaymentGateway, request: ApprovalRequest, actor: Actor
) -> Correction:
    account = session.get(Account, request.account_id, with_for_update=True)
    assert account is not None
    amount = int(request.amount or 0)
    details = request.details
    correction = _new_correction(session, CorrectionKind.ADJUSTMENT, request, amount)
    invoice = session.get(Invoice, details["invoice_id"]) if details.get("invoice_id") else None
    fee_type = (
        invoice.fee_type
        if invoice is not None
        else session.get(FeeType, details.get("fee_type_id"))
    )
    assert fee_type is not None
    signed = amount if details["direction"] == "debit" else -amount
    if invoice is not None:
        if signed < 0 and -signed > invoice.owing:
            raise ApprovalError(
                "exceeds",
                N_("Bill %(number)s owes less than this credit now."),
                number=invoice.invoice_number,
            )
        invoice.amount_due += signed
        invoice.status = InvoiceStatus.OPEN if invoice.owing > 0 else InvoiceStatus.PAID
    elif signed > 0:
        invoice = _adjustment_bill(session, account, fee_type, amount, request)
    else:
        credit = AccountCredit(
            account_id=account.id,
            amount=amount,
            remaining=amount,
            gl_account=fee_type.gl_account,
            reason=f"Adjustment {request.id}: {request.comment}"[:400],
        )
        session.add(credit)
        session.flush()
        correction.lines.append(
            CorrectionLine(
                account_id=account.id,
                credit_id=credit.id,
                gl_account=fee_type.gl_account,
                amount=signed,
            )
        )
    if invoice is not None:
        correction.lines.append(
            CorrectionLine(
                invoice_id=invoice.id,
                account_id=account.id,
                gl_account=fee_type.gl_account,
                amount=signed,
            )
        )
    account.balance += signed
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.ADJUSTMENT_APPLIED,
        "account",
        account.account_number,
        {"approval": request.id, "amount": signed, "gl_account": fee_type.gl_account},
        request.comment,
    )
    return correction


def _adjustment_bill(
    session: Session, account: Account, fee_type: FeeType, amount: int, request: ApprovalRequest
) -> Invoice:
    """A debit not on an existing bill is a new bill of its own."""
    invoice = Invoice(
        invoice_number=f"ADJ-{account.account_number}-{request.id}",
        account_id=account.id,
        fee_type_id=fee_type.id,
        description=f"Adjustment: {request.comment}"[:400],
        amount_due=amount,
        due_date=dt.date.today() + dt.timedelta(days=30),
    )
    session.add(invoice)
    session.flush()
    return invoice


def _finish(
    session: Session,
    correction: Correction,
    payment: Payment,
    request: ApprovalRequest,
    actor: Actor,
    event: audit.AuditAction,
) -> None:
    """Audit the correction, tell the payer (the receipt again, showing it) and the
    source systems of the bills it reopened."""
    session.flush()
    audit.record(
        session,
        actor,
        event,
        "payment",
        payment.transaction_id,
        {
            "approval": request.id,
            "correction": correction.id,
            "amount": correction.amount,
            "gateway_reference": correction.gateway_reference,
        },
        request.comment,
    )
    receipt = receipts.for_payment(session, payment)
    if receipt is not None and payment.payer_email:
        outbox.enqueue(
            session,
            RECEIPT_EMAIL,
            {
                "receipt_id": receipt.id,
                "to": payment.payer_email,
                "locale": payment.locale,
                "correction_id": correction.id,
            },
        )
    write_back.queue_correction(session, correction, payment)


_CARRY_OUT = {
    ApprovalAction.VOID: _void,
    ApprovalAction.REFUND: _refund,
    ApprovalAction.REVERSAL: _reversal,
    ApprovalAction.ADJUSTMENT: _adjustment,
}


def retry_due(
    session_factory: sessionmaker[Session],
    gateway: PaymentGateway,
    actor: Actor,
    older_than: dt.timedelta,
) -> int:
    """Carry out approved requests left undone (a timeout, a crash between approving and
    carrying out); returns how many were carried out now."""
    done = 0
    with session_factory() as session:
        due = list(
            session.scalars(
                select(ApprovalRequest.id).where(
                    ApprovalRequest.status == ApprovalStatus.APPROVED,
                    ApprovalRequest.action.not_in(_NOT_CARRIED_OUT),
                    ApprovalRequest.decided_at <= utcnow() - older_than,
                )
            )
        )
        for request_id in due:
            request = session.get(ApprovalRequest, request_id)
            retry = request is not None and (
                not request.result or request.result.get("retry") is True
            )
            if request is not None and retry and carry_out(session, gateway, request, actor):
                done += 1
    return done
