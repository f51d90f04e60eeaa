"""Take one payment for several bills across departments: one payment, one receipt.

The payment row is committed *before* the gateway is called, so a timeout or a
crash leaves a `pending`/`unknown` row that the recovery job resolves, never
nothing. Every request carries an idempotency key: the same key and request
return the original result; the same key with a different request is refused.

A card payment holds what it pays on each bill while it is in doubt
(`shared.payments.holds`): another payment of a held amount is refused until the first
is resolved, so two browsers, or a browser and the counter, never pay one bill twice.

These functions commit the session they are given: durability before the
gateway call is the point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from shared import audit
from shared.actors import Actor
from shared.approvals.requests import ApprovalError
from shared.finance import drawers
from shared.gateway.protocol import GatewayError, GatewayTimeout, PaymentGateway
from shared.i18n import N_, gettext_
from shared.identifiers import transaction_id
from shared.models import (
    Account,
    AccountStatus,
    Allocation,
    ApprovalRequest,
    Channel,
    FeeType,
    IdempotencyRecord,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Receipt,
    Tender,
)
from shared.money import Money, MoneyError, allocate
from shared.payments import corrections, holds, posting
from shared.payments import states as payment_states
from shared.payments.states import move
from shared.receipts import numbering as receipts

SCOPE = "payment"

INVOICES = cast(Table, Invoice.__table__)
ACCOUNTS = cast(Table, Account.__table__)
FEE_TYPES = cast(Table, FeeType.__table__)
ALLOCATIONS = cast(Table, Allocation.__table__)
KEYS = cast(Table, IdempotencyRecord.__table__)
# The hot path's statements, built once so each is compiled once (SQLAlchemy caches by shape).
_RECORDED = select(KEYS.c.request_hash, KEYS.c.resource_id).where(
    KEYS.c.scope == SCOPE, KEYS.c.key == bindparam("key")
)
_BILLS = (
    select(
        INVOICES.c.id.label("invoice_id"),
        INVOICES.c.invoice_number,
        (INVOICES.c.amount_due - INVOICES.c.amount_paid).label("owing"),
        INVOICES.c.status,
        INVOICES.c.fee_type_id,
        ACCOUNTS.c.id.label("account_id"),
        ACCOUNTS.c.account_number,
        ACCOUNTS.c.status.label("account_status"),
        ACCOUNTS.c.status_reason.label("account_status_reason"),
        ACCOUNTS.c.customer_id,
        ACCOUNTS.c.department_id,
        FEE_TYPES.c.gl_account,
        FEE_TYPES.c.allows_partial,
    )
    .join_from(INVOICES, ACCOUNTS, INVOICES.c.account_id == ACCOUNTS.c.id)
    .join(FEE_TYPES, INVOICES.c.fee_type_id == FEE_TYPES.c.id)
    .where(INVOICES.c.invoice_number.in_(bindparam("numbers", expanding=True)))
)
# A payment that will write locks its bills first, so racing payments see each other's holds.
_BILLS_LOCKED = _BILLS.with_for_update(of=INVOICES)
_INSERT_ALLOCATIONS = insert(ALLOCATIONS)
_INSERT_KEY = insert(KEYS)


class PaymentRefused(Exception):
    """The request cannot be taken as it stands; `message` says why, in plain words.

    `message` is translated when it is read, into the current request's language;
    `english` is what the audit trail keeps; `code` is for callers and audit details.
    """

    def __init__(self, code: str, message: str, **values: object) -> None:
        self.english = message % values if values else message
        super().__init__(self.english)
        self.code = code
        self._message = message
        self._values = values

    @property
    def message(self) -> str:
        translated = gettext_(self._message)
        return translated % self._values if self._values else translated


class ChangedBill(Protocol):
    """A bill whose owing its source system just changed."""

    @property
    def invoice_number(self) -> str: ...
    @property
    def after(self) -> int: ...


class BalanceCheck(Protocol):
    """Asks the source systems of the bills about to be paid
    (`shared.balance_sources.refreshing.Refresher`)."""

    def before_payment(
        self, session: Session, invoice_numbers: list[str], actor: Actor
    ) -> Sequence[ChangedBill]: ...


def _contradicted(changed: ChangedBill, request: PaymentRequest) -> PaymentRefused:
    if changed.after <= 0:
        return PaymentRefused(
            "paid_elsewhere",
            N_(
                "Bill %(number)s was just paid elsewhere, its billing system says: it now "
                "owes nothing. Nothing was charged."
            ),
            number=changed.invoice_number,
        )
    return PaymentRefused(
        "balance_changed",
        N_(
            "Bill %(number)s now owes %(owing)s, its billing system says. Nothing was "
            "charged: check the amount and pay again."
        ),
        number=changed.invoice_number,
        owing=Money(changed.after, request.currency).format(request.locale),
    )


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


_UNHASHED = frozenset({"payer_email", "locale", "timezone", "idempotency_key", "overridden"})


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
    # The organisation's time zone, for the times in messages ("being confirmed since 17:40").
    timezone: str = field(default="UTC", compare=False)
    # Bills an approved override lets through their hold and their account's status.
    overridden: frozenset[str] = frozenset()

    def fingerprint(self) -> str:
        """What makes two requests "the same" for idempotency (not email or locale)."""
        # The same JSON as `asdict` gave (stored hashes must still match), without its deep copy.
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _UNHASHED}
        data["items"] = [
            {"invoice_number": i.invoice_number, "amount": i.amount} for i in self.items
        ]
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
    found = session.connection().execute(_RECORDED, {"key": request.idempotency_key}).first()
    if found is None:
        return None
    request_hash, payment_id = found
    if request_hash != request.fingerprint():
        raise IdempotencyConflict(request.idempotency_key)
    payment = session.get(Payment, payment_id, options=[selectinload(Payment.allocations)])
    assert payment is not None
    return PaymentOutcome(payment, receipts.for_payment(session, payment), replayed=True)


@dataclass(frozen=True, slots=True)
class _Bill:
    """What taking a payment needs to know about a bill, read in one query."""

    invoice_id: int
    invoice_number: str
    owing: int
    status: InvoiceStatus
    fee_type_id: int
    account_id: int
    account_number: str
    account_status: AccountStatus
    account_status_reason: str | None
    customer_id: int
    department_id: int
    gl_account: str
    allows_partial: bool


def _gate_account(bill: _Bill) -> None:
    # One sentence per status, with and without the recorded reason, for the translators.
    reason = bill.account_status_reason
    if bill.account_status is AccountStatus.CLOSED:
        message = (
            N_(
                "Account %(number)s is closed (%(reason)s) and cannot take payments. "
                "Please contact us."
            )
            if reason
            else N_("Account %(number)s is closed and cannot take payments. Please contact us.")
        )
    elif bill.account_status is AccountStatus.HOLD:
        message = (
            N_(
                "Account %(number)s is on hold (%(reason)s) and cannot take payments. "
                "Please contact us."
            )
            if reason
            else N_("Account %(number)s is on hold and cannot take payments. Please contact us.")
        )
    else:
        return
    code = f"account_{bill.account_status}"
    raise PaymentRefused(code, message, number=bill.account_number, reason=reason)


def _check_item(
    bill: _Bill, item: Item, request: PaymentRequest, held: holds.Held | None = None
) -> int:
    """The amount this item pays, or why it cannot be paid."""
    overridden = bill.invoice_number in request.overridden
    if not overridden:
        _gate_account(bill)
    owing = max(bill.owing, 0)
    if bill.status is not InvoiceStatus.OPEN or owing == 0:
        raise PaymentRefused(
            "not_owing",
            N_("Bill %(number)s has nothing left to pay."),
            number=bill.invoice_number,
        )
    amount = owing if item.amount is None else item.amount
    if amount <= 0:
        raise PaymentRefused("amount_not_positive", N_("Enter an amount more than zero."))
    if amount > owing:
        shown = Money(owing, request.currency).format(request.locale)
        raise PaymentRefused(
            "amount_exceeds",
            N_("Bill %(number)s owes %(owing)s; you cannot pay more than that."),
            number=bill.invoice_number,
            owing=shown,
        )
    if amount != owing and not bill.allows_partial:
        raise PaymentRefused(
            "partial_not_allowed",
            N_("Bill %(number)s must be paid in full."),
            number=bill.invoice_number,
        )
    if held is not None and amount > owing - held.amount and not overridden:
        message, values = holds.notice(
            held, owing, bill.invoice_number, request.currency, request.locale, request.timezone
        )
        raise PaymentRefused("held", message, **values)
    return amount


def _plan(
    session: Session, request: PaymentRequest, *, lock: bool = False
) -> list[tuple[_Bill, int]]:
    """Check every item against its bill as it stands (locked with `lock`) and what is held
    on it; the amount each pays, or PaymentRefused."""
    if not request.items:
        raise PaymentRefused("empty", N_("Choose at least one bill to pay."))
    numbers = [item.invoice_number for item in request.items]
    if len(set(numbers)) != len(numbers):
        raise PaymentRefused("duplicate_item", N_("The same bill is listed twice."))
    rows = session.connection().execute(_BILLS_LOCKED if lock else _BILLS, {"numbers": numbers})
    bills = {row.invoice_number: _Bill(**row._mapping) for row in rows}
    held = holds.held_on(session, [bill.invoice_id for bill in bills.values()])
    plan: list[tuple[_Bill, int]] = []
    for item in request.items:
        bill = bills.get(item.invoice_number)
        if bill is None:
            raise PaymentRefused(
                "unknown_invoice",
                N_("We cannot find bill %(number)s."),
                number=item.invoice_number,
            )
        plan.append((bill, _check_item(bill, item, request, held.get(bill.invoice_id))))
    if request.lump_sum is not None:
        try:
            parts = allocate(request.lump_sum, [amount for _bill, amount in plan])
        except MoneyError:
            # `allocate` refuses a negative sum or one more than the bills owe (none is negative).
            message = (
                N_("Amounts cannot be negative.")
                if request.lump_sum < 0
                else N_("The payment is more than is owed.")
            )
            raise PaymentRefused("lump_sum", message) from None
        plan = [(bill, part) for (bill, _amount), part in zip(plan, parts, strict=True) if part > 0]
        if not plan:
            raise PaymentRefused("amount_not_positive", N_("Enter an amount more than zero."))
    return plan


def plan_allocations(session: Session, request: PaymentRequest) -> list[tuple[Invoice, int]]:
    """Check every item and decide how much goes to each bill."""
    plan = _plan(session, request)
    invoices = {
        inv.id: inv
        for inv in session.scalars(
            select(Invoice)
            .where(Invoice.id.in_([bill.invoice_id for bill, _amount in plan]))
            .options(joinedload(Invoice.account), joinedload(Invoice.fee_type))
        )
    }
    return [(invoices[bill.invoice_id], amount) for bill, amount in plan]


def _check_tender(request: PaymentRequest, total: int) -> None:
    if request.tender is Tender.CARD and not request.card_token:
        raise PaymentRefused("card_missing", N_("Card details are missing; please try again."))
    if request.tender is Tender.CASH and (request.cash_tendered or 0) < total:
        raise PaymentRefused("cash_short", N_("The cash tendered is less than the amount due."))
    if request.tender is Tender.CHEQUE and not (request.cheque_number or "").strip():
        raise PaymentRefused("cheque_number", N_("Enter the cheque number."))


def _create(
    session: Session,
    request: PaymentRequest,
    actor: Actor,
    through: tuple[PaymentStatus, ...],
    override: ApprovalRequest | None = None,
) -> tuple[Payment, list[posting.Share]]:
    """Write the payment, moved along `through`, with its allocations and idempotency key;
    a card payment (created in doubt) holds what it pays on each bill."""
    plan = _plan(session, request, lock=True)
    total = sum(amount for _bill, amount in plan)
    _check_tender(request, total)
    cash = request.tender is Tender.CASH
    payment = Payment(
        transaction_id=transaction_id(),
        idempotency_key=request.idempotency_key,
        # One payer; across several customers' bills (a household) the first one's.
        customer_id=plan[0][0].customer_id,
        channel=request.channel,
        terminal_id=actor.terminal_id,
        staff_user_id=actor.staff_user_id,
        amount=total,
        currency=request.currency,
        tender=request.tender,
        gateway_token=request.card_token,
        cash_tendered=request.cash_tendered if cash else None,
        change_due=(request.cash_tendered or 0) - total if cash else None,
        cheque_number=(request.cheque_number or "").strip() or None,
        payer_email=request.payer_email,
        locale=request.locale,
        # In this transaction: the drawer the cash or cheque goes into, if one is open.
        drawer_session_id=drawers.drawer_for(session, request.channel, request.tender, actor),
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
            "invoices": [bill.invoice_number for bill, _amount in plan],
        },
    )
    payment_states.create(session, payment, actor, through)
    connection = session.connection()
    connection.execute(
        _INSERT_ALLOCATIONS,
        [
            {
                "payment_id": payment.id,
                "invoice_id": bill.invoice_id,
                "account_id": bill.account_id,
                "fee_type_id": bill.fee_type_id,
                "department_id": bill.department_id,
                "gl_account": bill.gl_account,
                "amount": amount,
            }
            for bill, amount in plan
        ],
    )
    if override is not None:
        try:
            corrections.use_override(session, override, payment, actor)
        except ApprovalError as used:
            raise PaymentRefused(used.code, N_("This override was used already.")) from None
    if not through:
        holds.place(
            session, payment.id, [(b.invoice_id, amt) for b, amt in plan], payment.created_at
        )
    connection.execute(
        _INSERT_KEY,
        {
            "scope": SCOPE,
            "key": request.idempotency_key,
            "request_hash": request.fingerprint(),
            "resource_type": "payment",
            "resource_id": payment.id,
            "created_at": payment.created_at,
        },
    )
    return payment, [posting.Share(bill.invoice_id, bill.account_id, amt) for bill, amt in plan]


def _apply_now(
    session: Session, payment: Payment, shares: list[posting.Share], actor: Actor
) -> Receipt:
    """Apply a cash or cheque payment in its own transaction. The bills were checked
    without a lock, so a concurrent payment may have paid one since: refuse, not overpay."""
    try:
        return posting.apply(session, payment, shares, actor, refuse_overpayment=True)
    except posting.Overpaid as overpaid:
        raise PaymentRefused(
            "amount_exceeds",
            N_("Bill %(number)s was just paid by another payment; look it up again."),
            number=overpaid.invoice_numbers[0],
        ) from None


def take_payment(
    session: Session,
    gateway: PaymentGateway,
    request: PaymentRequest,
    actor: Actor,
    override: ApprovalRequest | None = None,
    balances: BalanceCheck | None = None,
) -> PaymentOutcome:
    """Take a payment. Idempotent by `request.idempotency_key`; commits as it goes.

    A used key is found by the unique index when the payment row is written,
    not by a look-up first: retries are rare, and every payment saves a query. An approved
    `override` (for `request.overridden`) is used up in the payment's own transaction.
    With `balances`, the bills of systems Paydesk pulls from are asked about first (when
    their data is older than the setting); a bill whose owing the source just changed
    refuses the payment, showing what it owes now (the change itself is kept).
    """
    card = request.tender is Tender.CARD
    receipt: Receipt | None = None
    changed: Sequence[ChangedBill] = ()
    if balances is not None:
        changed = balances.before_payment(
            session, [item.invoice_number for item in request.items], actor
        )
        session.commit()
    try:
        if changed:
            raise _contradicted(changed[0], request)
        if card:
            payment, shares = _create(session, request, actor, (), override)
        else:
            # No gateway to call: create, post and issue the receipt in one transaction.
            payment, shares = _create(session, request, actor, (PaymentStatus.POSTED,), override)
            receipt = _apply_now(session, payment, shares, actor)
        session.commit()
    except IntegrityError:
        # The key was used already (a retry, or another request won the race).
        session.rollback()
        replayed = _replay(session, request)
        if replayed is None:
            raise
        session.commit()
        return replayed
    except PaymentRefused as refused:
        session.rollback()
        # A retry is refused when its bills are paid by then: answer with the original.
        if (replayed := _replay(session, request)) is not None:
            session.commit()
            return replayed
        audit.record(
            session,
            actor,
            audit.AuditAction.PAYMENT_REQUEST_REFUSED,
            "payment_request",
            request.idempotency_key,
            {"code": refused.code},
            refused.english,
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
    receipt = posting.apply_gateway_answer(session, gateway, payment, answer, actor, shares)
    session.commit()
    return PaymentOutcome(payment, receipt)
