"""Applying a payment: the gateway's answer, then the bills, the receipt and the email."""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from shared import audit, outbox, receipts
from shared.actors import Actor
from shared.db import utcnow
from shared.gateway.protocol import PaymentGateway, Transaction, TransactionState
from shared.models import (
    Account,
    Allocation,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Receipt,
)
from shared.payment_states import move

RECEIPT_EMAIL = "receipt_email"
IN_DOUBT = (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)


def post(session: Session, payment: Payment, actor: Actor) -> Receipt:
    """Apply an approved (or cash/cheque) payment to its bills and issue the receipt."""
    allocations = session.scalars(
        select(Allocation).where(Allocation.payment_id == payment.id).order_by(Allocation.id)
    ).all()
    now = utcnow()
    for allocation in allocations:
        # Atomic increments: two payments for one bill can never lose an update.
        invoice_number, owing = session.execute(
            update(Invoice)
            .where(Invoice.id == allocation.invoice_id)
            .values(
                amount_paid=Invoice.amount_paid + allocation.amount,
                status=case(
                    (
                        Invoice.amount_due <= Invoice.amount_paid + allocation.amount,
                        InvoiceStatus.PAID.value,
                    ),
                    else_=Invoice.status,
                ),
            )
            .returning(Invoice.invoice_number, Invoice.amount_due - Invoice.amount_paid)
            .execution_options(synchronize_session=False)
        ).one()
        session.execute(
            update(Account)
            .where(Account.id == allocation.account_id)
            .values(balance=Account.balance - allocation.amount, balance_as_of=now)
            .execution_options(synchronize_session=False)
        )
        audit.record(
            session,
            actor,
            audit.AuditAction.INVOICE_PAID,
            "invoice",
            invoice_number,
            {
                "transaction_id": payment.transaction_id,
                "amount": allocation.amount,
                "owing_after": max(int(owing), 0),
            },
        )
        _expire_loaded(session, Invoice, allocation.invoice_id)
        _expire_loaded(session, Account, allocation.account_id)
    move(session, payment, PaymentStatus.POSTED, actor)
    receipt = receipts.issue(session, payment, actor)
    if payment.payer_email:
        outbox.enqueue(
            session,
            RECEIPT_EMAIL,
            {"receipt_id": receipt.id, "to": payment.payer_email, "locale": payment.locale},
        )
    return receipt


def _expire_loaded(session: Session, model: type[Invoice] | type[Account], pk: int) -> None:
    """Objects the caller already holds reload their new balances on next access."""
    loaded = session.identity_map.get(session.identity_key(model, pk))
    if loaded is not None:
        session.expire(loaded)


def apply_gateway_answer(
    session: Session, gateway: PaymentGateway, payment: Payment, answer: Transaction, actor: Actor
) -> Receipt | None:
    """Record what the gateway said about an in-doubt card payment and move it on.

    If someone else already settled the question (the recovery job, or the
    original request finishing late), leave it; if we had given up on it as
    failed but the gateway did charge, void the charge so nobody pays twice.
    """
    session.refresh(payment, with_for_update=True)
    if payment.status not in IN_DOUBT:
        if payment.status is PaymentStatus.FAILED and answer.approved and answer.reference:
            gateway.void(reference=answer.reference, our_key=f"{payment.idempotency_key}:void")
        return receipts.for_payment(session, payment)
    if answer.card is not None:
        payment.card_brand = answer.card.brand
        payment.card_last4 = answer.card.last4
        payment.card_exp_month = answer.card.exp_month
        payment.card_exp_year = answer.card.exp_year
    payment.gateway = gateway.name
    payment.gateway_reference = answer.reference
    if answer.state is TransactionState.DECLINED:
        payment.decline_code = answer.decline_code
        move(session, payment, PaymentStatus.DECLINED, actor, answer.decline_message)
        return None
    move(session, payment, PaymentStatus.AUTHORIZED, actor)
    return post(session, payment, actor)
