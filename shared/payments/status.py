""" "Did my payment go through?": find a payment a stranger can prove is theirs, and say
where it stands in plain words.

The portal uses it now; the kiosk and the staff console will reuse it. A look-up needs
a reference, the amount paid, and:

- with a receipt number, also the email address given when paying or the last 4 digits
  of the card: receipt numbers run in sequence and many fees are fixed, so a number and
  an amount alone are easy to guess;
- with a transaction ID (60 random bits, on every receipt and email), nothing more,
  though an email or last 4 given anyway must match too.

A wrong reference and a wrong proof give the same answer (None) after the same work, so
nobody can learn which references exist. Rate limits are the caller's: they depend on
who is asking.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import local_time
from shared.db import utcnow
from shared.i18n import translations
from shared.identifiers import LookupInputError, normalize_reference
from shared.models import Payment, PaymentStatus, Receipt
from shared.money import Money, MoneyError, parse_money
from shared.payments.settlement import settlement_expected

S = PaymentStatus

MAX_EMAIL_LENGTH = 320


def parse_amount(text: str, currency: str, locale: str) -> Money:
    """The amount paid, as the person writes it in `locale`.

    Raises LookupInputError when it is not a positive amount.
    """
    try:
        amount = parse_money(text.strip(), currency, locale)
    except MoneyError:
        raise LookupInputError(text) from None
    if amount.minor <= 0:
        raise LookupInputError(text)
    return amount


def parse_check(text: str) -> str:
    """An email address (casefolded) or a card's last 4 digits, as typed.

    Raises LookupInputError when it is neither.
    """
    cleaned = text.strip()
    if "@" in cleaned:
        local, _, domain = cleaned.rpartition("@")
        if local and "." in domain and len(cleaned) <= MAX_EMAIL_LENGTH:
            return cleaned.casefold()
        raise LookupInputError(text)
    digits = "".join(cleaned.split())
    if len(digits) == 4 and digits.isascii() and digits.isdigit():
        return digits
    raise LookupInputError(text)


def needs_check(reference: str) -> bool:
    """Whether the (normalised) reference is a guessable one: a receipt number."""
    return reference.startswith("R-")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def find_payment(db: Session, reference: str, amount: Money, check: str | None) -> Payment | None:
    """The payment `reference` names, if `amount` and `check` (from `parse_check`) prove
    the asker made it; `check` is required with a receipt number.

    Raises LookupInputError for a reference of the wrong shape (say so to the person);
    otherwise returns None alike for an unknown reference and a wrong proof.
    """
    ref = normalize_reference(reference)
    if ref.startswith("R-"):
        statement = (
            select(Payment)
            .join(Receipt, Receipt.payment_id == Payment.id)
            .where(Receipt.receipt_number == ref)
        )
    else:
        statement = select(Payment).where(Payment.transaction_id == ref)
    payment = db.scalars(statement).one_or_none()
    # Compare against stand-ins when there is no payment, so both paths do the same work.
    paid = f"{payment.amount}:{payment.currency}" if payment else "-1:---"
    amount_ok = _same(f"{amount.minor}:{amount.currency}", paid)
    email = (payment.payer_email or "").casefold() if payment else ""
    last4 = (payment.card_last4 or "") if payment else ""
    given = check or ""
    # Both comparisons always run; an empty expected value never matches.
    email_ok = _same(given, email) and bool(email)
    card_ok = _same(given, last4) and bool(last4)
    check_ok = (email_ok | card_ok) if check is not None else not needs_check(ref)
    if payment is None or not (amount_ok and check_ok):
        return None
    return payment


def receipt_of(db: Session, payment: Payment) -> Receipt | None:
    return db.scalars(select(Receipt).where(Receipt.payment_id == payment.id)).one_or_none()


def by_transaction_id(db: Session, transaction_id: str) -> Payment | None:
    return db.scalars(select(Payment).where(Payment.transaction_id == transaction_id)).one_or_none()


class Tone(StrEnum):
    """How a front should present the news (colour, icon, live-region politeness)."""

    DONE = "done"
    WAITING = "waiting"
    PROBLEM = "problem"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the timeline: what happened and when (None: not yet)."""

    label: str
    at: dt.datetime | None
    when: str


@dataclass(frozen=True, slots=True)
class StatusReport:
    status: PaymentStatus
    tone: Tone
    headline: str
    details: tuple[str, ...]
    timeline: tuple[Step, ...]
    # Only a payment still being confirmed can change by itself soon.
    may_change_soon: bool
    # A posted card payment's funds: when expected (shown), and whether that has passed.
    settlement_due: str = ""
    settlement_late: bool = False


_WAITING = frozenset({S.PENDING, S.UNKNOWN, S.AUTHORIZED})


def _reached(payment: Payment, status: PaymentStatus) -> dt.datetime | None:
    """When the payment last reached `status`, from its status history."""
    times = [change.at for change in payment.history if change.to_status == status]
    return max(times) if times else None


def describe(
    payment: Payment,
    locale: str,
    timezone: str,
    *,
    batch_close: dt.time | None = None,
    now: dt.datetime | None = None,
) -> StatusReport:
    """Where `payment` stands, in plain `locale` words with dates in `timezone`.

    With `batch_close` (PAYDESK_BATCH_CLOSE), a posted card payment says when its funds
    are expected (the next batch close) or, `now` past that, that they are late.
    """
    _ = translations(locale).gettext
    expected = (
        settlement_expected(payment, batch_close, timezone) if batch_close is not None else None
    )
    late = expected is not None and (now or utcnow()) >= expected

    def day(value: dt.datetime | None) -> str:
        return local_time.day(value, timezone, locale) if value else ""

    def moment(value: dt.datetime) -> str:
        return local_time.long_moment(value, timezone, locale)

    amount = Money(payment.amount, payment.currency).format(locale)
    received = payment.authorized_at or payment.created_at
    status = payment.status
    details: list[str] = []
    refund_note = _(
        "The money goes back the way you paid. A card refund can take up to "
        "10 business days to appear on your statement."
    )
    if status in _WAITING:
        tone = Tone.WAITING
        headline = _(
            "We are still confirming this payment with the card processor. "
            "Check again in a few minutes."
        )
        details.append(_("You do not need to pay again while we confirm it."))
    elif status in (S.POSTED, S.SETTLED):
        tone = Tone.DONE
        headline = _(
            "Your payment of %(amount)s was received on %(received)s "
            "and applied to your account on %(applied)s."
        ) % {"amount": amount, "received": day(received), "applied": day(payment.posted_at)}
        if status is S.SETTLED:
            details.append(
                _("The funds reached the city on %(date)s.") % {"date": day(payment.settled_at)}
            )
        elif expected is not None and late:
            details.append(
                _(
                    "The card processor should have paid these funds to the city by "
                    "%(time)s and has not yet. Nothing is needed from you: we are checking."
                )
                % {"time": moment(expected)}
            )
        elif expected is not None:
            details.append(
                _("The card processor pays these funds to the city at %(time)s.")
                % {"time": moment(expected)}
            )
    elif status in (S.DECLINED, S.FAILED):
        tone = Tone.PROBLEM
        headline = _("This payment did not go through. Nothing was charged.")
        details.append(_("You can pay again with another card or another way of paying."))
    elif status is S.VOIDED:
        tone = Tone.INFO
        headline = _(
            "This payment of %(amount)s was cancelled on %(date)s, before it was completed. "
            "You were not charged for it."
        ) % {"amount": amount, "date": day(_reached(payment, S.VOIDED) or payment.updated_at)}
    elif status is S.REFUNDED:
        tone = Tone.INFO
        headline = _("This payment of %(amount)s was refunded in full on %(date)s.") % {
            "amount": amount,
            "date": day(_reached(payment, S.REFUNDED) or payment.updated_at),
        }
        details.append(refund_note)
    elif status is S.PARTIALLY_REFUNDED:
        tone = Tone.INFO
        headline = _(
            "%(refunded)s of this payment of %(amount)s was refunded on %(date)s. "
            "The rest stays applied to your account."
        ) % {
            "refunded": Money(payment.refunded_amount, payment.currency).format(locale),
            "amount": amount,
            "date": day(_reached(payment, S.PARTIALLY_REFUNDED) or payment.updated_at),
        }
        details.append(refund_note)
    else:  # reversed
        tone = Tone.PROBLEM
        headline = _(
            "This payment of %(amount)s was reversed on %(date)s: your bank or card issuer "
            "took the money back (for example, a disputed charge or a returned cheque)."
        ) % {"amount": amount, "date": day(_reached(payment, S.REVERSED) or payment.updated_at)}
        details.append(_("The amount is owing again. Contact us if you did not expect this."))

    funds = _("Funds reached the city")
    steps: list[tuple[str, dt.datetime | None]] = [(_("Payment started"), payment.created_at)]
    if payment.authorized_at or (payment.tender == "card" and status in _WAITING | {S.POSTED}):
        steps.append((_("Approved by the card processor"), payment.authorized_at))
    if status in (S.DECLINED, S.FAILED):
        steps.append((_("Not completed"), _reached(payment, status) or payment.updated_at))
    else:
        steps.append((_("Applied to your account"), payment.posted_at))
        steps.append((funds, payment.settled_at))
    terminal = {
        S.VOIDED: _("Cancelled"),
        S.REFUNDED: _("Refunded"),
        S.PARTIALLY_REFUNDED: _("Partly refunded"),
        S.REVERSED: _("Reversed"),
    }
    if status in terminal:
        steps.append((terminal[status], _reached(payment, status) or payment.updated_at))

    def pending(label: str) -> str:
        if label != funds or expected is None:
            return _("Not yet")
        template = _("Late: expected by %(time)s") if late else _("Expected by %(time)s")
        return template % {"time": moment(expected)}

    timeline = tuple(Step(label, at, moment(at) if at else pending(label)) for label, at in steps)
    return StatusReport(
        status=status,
        tone=tone,
        headline=headline,
        details=tuple(details),
        timeline=timeline,
        may_change_soon=status in _WAITING,
        settlement_due=moment(expected) if expected else "",
        settlement_late=late,
    )
