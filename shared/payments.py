"""Take one payment for several bills across departments: one payment, one receipt.

The payment row is committed *before* the gateway is called, so a timeout or a
crash leaves a `pending`/`unknown` row that the recovery job resolves, never
nothing. Every request carries an idempotency key: the same key and request
return the original result; the same key with a different request is refused.

These functions commit the session they are given: durability before the
gateway call is the point.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from shared import audit, posting, receipts
from shared.actors import Actor
from shared.gateway.protocol import GatewayError, GatewayTimeout, PaymentGateway
from shared.identifiers import transaction_id
from shared.models import (
    Account,
    AccountStatus,
    Allocation,
    Channel,
    IdempotencyRecord,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Receipt,
    Tender,
)
from shared.money import Money, MoneyError, allocate
from shared.payment_states import move

SCOPE = "payment"


class PaymentRefused(Exception):
    """The request cannot be taken as it stands; `message` says why, in plain words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            "This payment reference was already used for a different payment. "
            "Start again to make a new payment."
        )
        self.key = key


@dataclass(frozen=True, slots=True)
class Item:
    """A bill to pay; `amount` None means everything it owes."""

    invoice_number: str
    amount: int | None = None


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    items: tuple[Item, ...]
    tender: Tender
    channel: Channel
    idempotency_key: str
    currency: str
    card_token: str | None = None
    cash_tendered: int | None = None
    cheque_number: str | None = None
    # Spread one sum over the items in proportion to what each owes (largest remainder).
    lump_sum: int | None = None
    payer_email: str | None = field(default=None, compare=False)
    locale: str = field(default="en", compare=False)

    def fingerprint(self) -> str:
        """What makes two requests "the same" for idempotency (not email or locale)."""
        data = asdict(self)
        for ignored in ("payer_email", "locale", "idempotency_key"):
            data.pop(ignored)
        canonical = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    payment: Payment
    receipt: Receipt | None
    replayed: bool = False

    @property
    def change_due(self) -> Money | None:
        p = self.payment
        return None if p.change_due is None else Money(p.change_due, p.currency)


def find_by_key(session: Session, key: str) -> tuple[IdempotencyRecord, Payment] | None:
    record = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == SCOPE, IdempotencyRecord.key == key
        )
    ).one_or_none()
    if record is None:
        return None
    payment = session.get(Payment, record.resource_id, options=[selectinload(Payment.allocations)])
    assert payment is not None
    return record, payment


def _replay(session: Session, request: PaymentRequest) -> PaymentOutcome | None:
    found = find_by_key(session, request.idempotency_key)
    if found is None:
        return None
    record, payment = found
    if record.request_hash != request.fingerprint():
        raise IdempotencyConflict(request.idempotency_key)
    return PaymentOutcome(payment, receipts.for_payment(session, payment), replayed=True)


def _gate_account(account: Account) -> None:
    reasons = {
        AccountStatus.CLOSED: "is closed",
        AccountStatus.HOLD: "is on hold",
    }
    if account.status in reasons:
        detail = f" ({account.status_reason})" if account.status_reason else ""
        raise PaymentRefused(
            f"account_{account.status}",
            f"Account {account.account_number} {reasons[account.status]}{detail} "
            "and cannot take payments. Please contact us.",
        )


def plan_allocations(session: Session, request: PaymentRequest) -> list[tuple[Invoice, int]]:
    """Check every item and decide how much goes to each bill."""
    if not request.items:
        raise PaymentRefused("empty", "Choose at least one bill to pay.")
    numbers = [item.invoice_number for item in request.items]
    if len(set(numbers)) != len(numbers):
        raise PaymentRefused("duplicate_item", "The same bill is listed twice.")
    invoices = {
        inv.invoice_number: inv
        for inv in session.scalars(
            select(Invoice)
            .where(Invoice.invoice_number.in_(numbers))
            .options(joinedload(Invoice.account), joinedload(Invoice.fee_type))
        )
    }
    plan: list[tuple[Invoice, int]] = []
    for item in request.items:
        invoice = invoices.get(item.invoice_number)
        if invoice is None:
            raise PaymentRefused("unknown_invoice", f"We cannot find bill {item.invoice_number}.")
        _gate_account(invoice.account)
        if invoice.status is not InvoiceStatus.OPEN or invoice.owing == 0:
            raise PaymentRefused(
                "not_owing", f"Bill {invoice.invoice_number} has nothing left to pay."
            )
        amount = invoice.owing if item.amount is None else item.amount
        if amount <= 0:
            raise PaymentRefused("amount_not_positive", "Enter an amount more than zero.")
        if amount > invoice.owing:
            owing = Money(invoice.owing, request.currency).format(request.locale)
            raise PaymentRefused(
                "amount_exceeds",
                f"Bill {invoice.invoice_number} owes {owing}; you cannot pay more than that.",
            )
        if amount != invoice.owing and not invoice.fee_type.allows_partial:
            raise PaymentRefused(
                "partial_not_allowed", f"Bill {invoice.invoice_number} must be paid in full."
            )
        plan.append((invoice, amount))
    if request.lump_sum is not None:
        try:
            parts = allocate(request.lump_sum, [amount for _, amount in plan])
        except MoneyError as exc:
            raise PaymentRefused("lump_sum", str(exc).capitalize() + ".") from None
        plan = [(inv, part) for (inv, _), part in zip(plan, parts, strict=True) if part > 0]
        if not plan:
            raise PaymentRefused("amount_not_positive", "Enter an amount more than zero.")
    return plan


def _check_tender(request: PaymentRequest, total: int) -> None:
    if request.tender is Tender.CARD and not request.card_token:
        raise PaymentRefused("card_missing", "Card details are missing; please try again.")
    if request.tender is Tender.CASH and (request.cash_tendered or 0) < total:
        raise PaymentRefused("cash_short", "The cash tendered is less than the amount due.")
    if request.tender is Tender.CHEQUE and not (request.cheque_number or "").strip():
        raise PaymentRefused("cheque_number", "Enter the cheque number.")


def _create(session: Session, request: PaymentRequest, actor: Actor) -> Payment:
    plan = plan_allocations(session, request)
    total = sum(amount for _, amount in plan)
    _check_tender(request, total)
    customer_ids = {inv.account.customer_id for inv, _ in plan}
    payment = Payment(
        transaction_id=transaction_id(),
        idempotency_key=request.idempotency_key,
        # One payer; across several customers' bills (a household) the first one's.
        customer_id=plan[0][0].account.customer_id if customer_ids else None,
        channel=request.channel,
        terminal_id=actor.terminal_id,
        staff_user_id=actor.staff_user_id,
        amount=total,
        currency=request.currency,
        tender=request.tender,
        status=PaymentStatus.PENDING,
        gateway_token=request.card_token,
        cash_tendered=request.cash_tendered if request.tender is Tender.CASH else None,
        change_due=(request.cash_tendered or 0) - total if request.tender is Tender.CASH else None,
        cheque_number=(request.cheque_number or "").strip() or None,
        payer_email=request.payer_email,
        locale=request.locale,
    )
    session.add(payment)
    session.flush()
    for invoice, amount in plan:
        session.add(
            Allocation(
                payment_id=payment.id,
                invoice_id=invoice.id,
                account_id=invoice.account_id,
                fee_type_id=invoice.fee_type_id,
                department_id=invoice.account.department_id,
                gl_account=invoice.fee_type.gl_account,
                amount=amount,
            )
        )
    session.add(
        IdempotencyRecord(
            scope=SCOPE,
            key=request.idempotency_key,
            request_hash=request.fingerprint(),
            resource_type="payment",
            resource_id=payment.id,
        )
    )
    session.add(
        PaymentStatusChange(
            payment_id=payment.id,
            from_status=None,
            to_status=PaymentStatus.PENDING,
            actor=str(actor),
        )
    )
    audit.record(
        session,
        actor,
        audit.AuditAction.PAYMENT_CREATED,
        "payment",
        payment.transaction_id,
        {
            "amount": total,
            "currency": request.currency,
            "tender": str(request.tender),
            "channel": str(request.channel),
            "invoices": [inv.invoice_number for inv, _ in plan],
        },
    )
    session.flush()
    return payment


def take_payment(
    session: Session, gateway: PaymentGateway, request: PaymentRequest, actor: Actor
) -> PaymentOutcome:
    """Take a payment. Idempotent by `request.idempotency_key`; commits as it goes."""
    if (replayed := _replay(session, request)) is not None:
        session.commit()
        return replayed
    card = request.tender is Tender.CARD
    receipt: Receipt | None = None
    try:
        payment = _create(session, request, actor)
        if not card:
            # No gateway to call: create and post in one transaction.
            receipt = posting.post(session, payment, actor)
        session.commit()
    except IntegrityError:
        # Another request with this key won the race: answer with its result.
        session.rollback()
        replayed = _replay(session, request)
        if replayed is None:
            raise
        session.commit()
        return replayed
    except PaymentRefused as refused:
        session.rollback()
        audit.record(
            session,
            actor,
            audit.AuditAction.PAYMENT_REQUEST_REFUSED,
            "payment_request",
            request.idempotency_key,
            {"code": refused.code},
            refused.message,
        )
        session.commit()
        raise

    if not card:
        return PaymentOutcome(payment, receipt)

    # The pending row is committed: now the gateway may hear of it.
    assert request.card_token is not None
    try:
        answer = gateway.authorize(
            token=request.card_token,
            amount=payment.amount,
            currency=payment.currency,
            our_key=payment.idempotency_key,
        )
    except GatewayTimeout:
        move(
            session,
            payment,
            PaymentStatus.UNKNOWN,
            actor,
            "The card processor did not answer in time.",
        )
        session.commit()
        return PaymentOutcome(payment, None)
    except GatewayError as exc:
        move(session, payment, PaymentStatus.FAILED, actor, exc.message)
        session.commit()
        return PaymentOutcome(payment, None)
    except Exception:
        # Anything else (connection reset, a bug in a driver): we cannot know; ask later.
        move(session, payment, PaymentStatus.UNKNOWN, actor, "No answer from the card processor.")
        session.commit()
        raise
    receipt = posting.apply_gateway_answer(session, gateway, payment, answer, actor)
    session.commit()
    return PaymentOutcome(payment, receipt)
