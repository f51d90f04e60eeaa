"""The sandbox processor: Paydesk's embedded default `PaymentGateway`.

It behaves like a real card processor, with its own database: a hosted card
page that turns a typed card into a single-use token, a card-present endpoint
for the kiosk, authorizations that answer by test card (approve, decline,
insufficient funds, time out), captures, voids, refunds and settlement batches.

Every money-moving call is idempotent by `our_key`: the key is unique in the
store, so a retry (or twenty threads at once) finds the first answer instead
of charging twice.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.gateway.protocol import (
    CardSummary,
    GatewayError,
    GatewayTimeout,
    HostedResult,
    HostedSession,
    SettlementBatch,
    Transaction,
    TransactionState,
)
from shared.gateway.sandbox.cards import Behaviour, CardData
from shared.gateway.sandbox.settlement import close_batch, write_report
from shared.gateway.sandbox.store import (
    CardToken,
    CheckoutStatus,
    HostedCheckout,
    Operation,
    OperationKind,
    Payment,
    Store,
    TokenSource,
)
from shared.i18n import DEFAULT_LOCALE, LOCALES

DECLINES: dict[Behaviour, tuple[str, str]] = {
    Behaviour.DECLINE: ("card_declined", "The card was declined."),
    Behaviour.INSUFFICIENT: ("insufficient_funds", "The card was declined: insufficient funds."),
    Behaviour.TIMEOUT_DECLINE: ("card_declined", "The card was declined."),
    Behaviour.UNSUPPORTED: ("card_not_supported", "Card not supported in sandbox."),
}
_TIMEOUTS = frozenset({Behaviour.TIMEOUT_APPROVE, Behaviour.TIMEOUT_DECLINE})
_CURRENCY = re.compile(r"[A-Z]{3}")
_KEY_LENGTH = 128
_DESCRIPTION_LENGTH = 500
# Two batches closing at once on PostgreSQL may pick the same number; the loser retries.
_SETTLE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Checkout:
    """A hosted card page as the page itself needs it."""

    id: str
    our_key: str
    amount: int
    currency: str
    description: str
    locale: str
    status: CheckoutStatus
    form_token: str
    return_url: str
    cancel_url: str

    @property
    def return_to(self) -> str:
        return with_session(self.return_url, self.id)

    @property
    def cancel_to(self) -> str:
        return with_session(self.cancel_url, self.id)


def with_session(url: str, session_id: str) -> str:
    """`url` with `session=<id>` added to whatever query it already has."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("session", session_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class SandboxGateway:
    """The embedded test processor. `url` is its own database; `base_url` is where
    `hosted_app(gateway)` is mounted, e.g. `http://127.0.0.1:8000/sandbox-gateway`."""

    name = "sandbox"

    def __init__(self, url: str, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.store = Store(url)

    def close(self) -> None:
        self.store.dispose()

    # -- hosted card page -------------------------------------------------------

    def create_hosted_session(
        self,
        *,
        amount: int,
        currency: str,
        our_key: str,
        return_url: str,
        cancel_url: str,
        locale: str,
        description: str,
    ) -> HostedSession:
        _check_request(amount, currency, our_key)
        _check_url(return_url)
        _check_url(cancel_url)
        if len(description) > _DESCRIPTION_LENGTH:
            raise GatewayError("invalid_description", "the description is too long")
        checkout = HostedCheckout(
            id=f"cs_{secrets.token_urlsafe(18)}",
            form_token=secrets.token_urlsafe(32),
            our_key=our_key,
            amount=amount,
            currency=currency,
            description=description,
            locale=page_locale(locale),
            return_url=return_url,
            cancel_url=cancel_url,
            status=CheckoutStatus.OPEN,
        )
        with self.store.transaction() as db:
            db.add(checkout)
        return HostedSession(id=checkout.id, url=f"{self.base_url}/pay/{checkout.id}")

    def hosted_result(self, session_id: str) -> HostedResult:
        with self.store.transaction() as db:
            checkout = db.get(HostedCheckout, session_id)
            if checkout is None:
                raise GatewayError("unknown_session", "no hosted session with that id")
            token = checkout.token
            return HostedResult(
                session_id=checkout.id,
                completed=checkout.status is CheckoutStatus.COMPLETED,
                token=token.id if token else None,
                card=_summary(token) if token else None,
                our_key=checkout.our_key,
            )

    def checkout(self, session_id: str) -> Checkout | None:
        with self.store.transaction() as db:
            checkout = db.get(HostedCheckout, session_id)
            return _checkout(checkout) if checkout else None

    def complete_checkout(self, session_id: str, form_token: str, card: CardData) -> Checkout:
        """Tokenize the card typed on the page and close the page for good."""
        with self.store.transaction() as db:
            checkout = self._open_checkout(db, session_id, form_token)
            checkout.token_id = self._add_token(db, card, TokenSource.HOSTED)
            checkout.status = CheckoutStatus.COMPLETED
            checkout.finished_at = utcnow()
            return _checkout(checkout)

    def cancel_checkout(self, session_id: str, form_token: str) -> Checkout:
        with self.store.transaction() as db:
            checkout = self._open_checkout(db, session_id, form_token)
            checkout.status = CheckoutStatus.CANCELLED
            checkout.finished_at = utcnow()
            return _checkout(checkout)

    def _open_checkout(self, db: Session, session_id: str, form_token: str) -> HostedCheckout:
        # Locked, so two POSTs of the same page (a double click) cannot both pay.
        checkout = db.get(HostedCheckout, session_id, with_for_update=True)
        if checkout is None:
            raise GatewayError("unknown_session", "no hosted session with that id")
        if not secrets.compare_digest(checkout.form_token.encode(), form_token.encode()):
            raise GatewayError("forged_form", "the form did not come from this page")
        if checkout.status is not CheckoutStatus.OPEN:
            raise GatewayError("session_used", "this payment page has already been used")
        return checkout

    # -- tokens -----------------------------------------------------------------

    def tokenize(self, card: CardData, source: TokenSource) -> str:
        """A single-use token for `card`. Only brand, last 4, expiry and the test
        behaviour are stored; the number itself goes no further than this call."""
        with self.store.transaction() as db:
            return self._add_token(db, card, source)

    def tokenize_card_present(
        self, pan: str, exp_month: int, exp_year: int, cardholder_name: str | None
    ) -> str:
        """Tokenize a card read at the kiosk (raises CardError for a bad card).
        The cardholder name is not needed to pay, so it is not kept."""
        card = CardData.read(pan, exp_month, exp_year, today=utcnow().date())
        return self.tokenize(card, TokenSource.CARD_PRESENT)

    @staticmethod
    def _add_token(db: Session, card: CardData, source: TokenSource) -> str:
        token = CardToken(
            id=f"tok_{secrets.token_urlsafe(18)}",
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            behaviour=card.behaviour,
            source=source,
        )
        db.add(token)
        return token.id

    # -- money ------------------------------------------------------------------

    def authorize(
        self, *, token: str, amount: int, currency: str, our_key: str, capture: bool = True
    ) -> Transaction:
        _check_request(amount, currency, our_key)

        def same_request(payment: Payment) -> bool:
            return (payment.token_id, payment.amount, payment.currency) == (
                token,
                amount,
                currency,
            ) and payment.capture_requested == capture

        try:
            with self.store.transaction() as db:
                # Lock the token first: calls presenting it queue here, and each then
                # sees whatever the one before it committed (PostgreSQL reads committed).
                card = db.get(CardToken, token, with_for_update=True)
                first = db.scalar(select(Payment).where(Payment.our_key == our_key))
                if first is not None:
                    return _replay(first, same_request)
                _refuse_key_of(db, Operation, our_key)
                if card is None:
                    raise GatewayError("unknown_token", "no card token with that id")
                if db.scalar(select(Payment.id).where(Payment.token_id == token)) is not None:
                    raise GatewayError("token_used", "the card token has already been used")
                payment = _new_payment(card, amount, currency, our_key, capture)
                db.add(payment)
                db.flush()
                answer = _transaction(payment)
        except IntegrityError:
            # Another call won the race for this key (or this token): its row stands.
            with self.store.transaction() as db:
                first = db.scalar(select(Payment).where(Payment.our_key == our_key))
                if first is None:
                    raise GatewayError(
                        "token_used", "the card token has already been used"
                    ) from None
                return _replay(first, same_request)
        if card.behaviour in _TIMEOUTS:
            # The outcome is committed; only the answer is lost on the way back.
            raise GatewayTimeout(f"no answer from the sandbox processor for {our_key}")
        return answer

    def capture(self, *, reference: str, amount: int, our_key: str) -> Transaction:
        def apply(payment: Payment) -> None:
            if payment.state is not TransactionState.AUTHORIZED:
                raise GatewayError("invalid_state", f"cannot capture a {payment.state} payment")
            if not 0 < amount <= payment.amount:
                raise GatewayError("invalid_amount", "capture between 1 and the authorized amount")
            payment.state = TransactionState.CAPTURED
            payment.captured_amount = amount
            payment.captured_at = utcnow()

        return self._operate(OperationKind.CAPTURE, reference, amount, our_key, apply)

    def void(self, *, reference: str, our_key: str) -> Transaction:
        def apply(payment: Payment) -> None:
            if payment.settlement_batch is not None:
                raise GatewayError("already_settled", "a settled payment is refunded, not voided")
            voidable = payment.state in {TransactionState.AUTHORIZED, TransactionState.CAPTURED}
            if not voidable or payment.refunded_amount:
                raise GatewayError("invalid_state", f"cannot void a {payment.state} payment")
            payment.state = TransactionState.VOIDED

        return self._operate(OperationKind.VOID, reference, None, our_key, apply)

    def refund(self, *, reference: str, amount: int, our_key: str) -> Transaction:
        def apply(payment: Payment) -> None:
            refundable = {
                TransactionState.CAPTURED,
                TransactionState.SETTLED,
                TransactionState.PARTIALLY_REFUNDED,
                TransactionState.REFUNDED,
            }
            if payment.state not in refundable or payment.captured_amount is None:
                raise GatewayError("invalid_state", f"cannot refund a {payment.state} payment")
            if amount <= 0:
                raise GatewayError("invalid_amount", "a refund is a positive amount")
            remaining = payment.captured_amount - payment.refunded_amount
            if amount > remaining:
                raise GatewayError(
                    "refund_exceeds_amount", f"at most {remaining} is left to refund"
                )
            payment.refunded_amount += amount
            payment.state = (
                TransactionState.REFUNDED
                if payment.refunded_amount == payment.captured_amount
                else TransactionState.PARTIALLY_REFUNDED
            )

        return self._operate(OperationKind.REFUND, reference, amount, our_key, apply)

    def chargeback(self, *, reference: str) -> Transaction:
        """Sandbox only: the cardholder's bank disputes a captured sale and takes back what
        refunds left of it. A real processor does this on its own and reports it; here a
        test or the demo makes it happen. It is reported in the next batch as a
        "chargeback" line under the sale's key; a sale is charged back once."""
        with self.store.transaction() as db:
            payment = db.scalar(
                select(Payment).where(Payment.reference == reference).with_for_update()
            )
            if payment is None:
                raise GatewayError("unknown_reference", "no payment with that reference")
            if payment.captured_amount is None or payment.state not in _CHARGEABLE:
                raise GatewayError("invalid_state", f"cannot charge back a {payment.state} payment")
            key = f"chargeback:{payment.our_key}"
            if db.scalar(select(Operation.id).where(Operation.our_key == key)) is not None:
                raise GatewayError("already_charged_back", "this sale was charged back already")
            remaining = payment.captured_amount - payment.refunded_amount
            db.add(
                Operation(
                    our_key=key, kind=OperationKind.CHARGEBACK, payment=payment, amount=remaining
                )
            )
            db.flush()
            return _transaction(payment)

    def _operate(
        self,
        kind: OperationKind,
        reference: str,
        amount: int | None,
        our_key: str,
        apply: Callable[[Payment], None],
    ) -> Transaction:
        _check_key(our_key)

        def same_request(operation: Operation) -> bool:
            return (operation.kind, operation.payment.reference, operation.amount) == (
                kind,
                reference,
                amount,
            )

        try:
            with self.store.transaction() as db:
                # Lock the payment first: operations on it queue here, so two refunds never
                # see the same balance and a repeated key finds the operation it made.
                payment = db.scalar(
                    select(Payment).where(Payment.reference == reference).with_for_update()
                )
                first = db.scalar(select(Operation).where(Operation.our_key == our_key))
                if first is not None:
                    return _replay_operation(first, same_request)
                _refuse_key_of(db, Payment, our_key)
                if payment is None:
                    raise GatewayError("unknown_reference", "no payment with that reference")
                apply(payment)
                db.add(Operation(our_key=our_key, kind=kind, payment=payment, amount=amount))
                db.flush()
                return _transaction(payment)
        except IntegrityError:
            with self.store.transaction() as db:
                first = db.scalar(select(Operation).where(Operation.our_key == our_key))
                if first is None:
                    raise
                return _replay_operation(first, same_request)

    def lookup(self, our_key: str) -> Transaction | None:
        """The payment our key authorized, or the payment our key captured, voided or
        refunded, as it stands now."""
        with self.store.transaction() as db:
            payment = db.scalar(select(Payment).where(Payment.our_key == our_key))
            if payment is None:
                operation = db.scalar(select(Operation).where(Operation.our_key == our_key))
                payment = operation.payment if operation else None
            return _transaction(payment) if payment else None

    def settle(self, *, until: dt.datetime) -> SettlementBatch:
        for attempt in range(_SETTLE_ATTEMPTS):
            try:
                with self.store.transaction() as db:
                    return close_batch(db, until=until, closed_at=utcnow())
            except IntegrityError:
                if attempt == _SETTLE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def write_report(batch: SettlementBatch, directory: Path) -> Path:
        """Write the batch's report as `settlement-<batch>.csv` in `directory`."""
        return write_report(batch, directory)


# What a cardholder's bank can take back: a captured sale, settled or not, partly refunded.
_CHARGEABLE = frozenset(
    {
        TransactionState.CAPTURED,
        TransactionState.SETTLED,
        TransactionState.PARTIALLY_REFUNDED,
    }
)


def page_locale(locale: str) -> str:
    """One of the page's languages for a locale such as `fr-CA`; English otherwise."""
    language = locale.replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def _check_key(our_key: str) -> None:
    if not our_key or len(our_key) > _KEY_LENGTH:
        raise GatewayError("invalid_key", f"our_key must be 1 to {_KEY_LENGTH} characters")


def _check_request(amount: int, currency: str, our_key: str) -> None:
    _check_key(our_key)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise GatewayError("invalid_amount", "amount is a positive integer of minor units")
    if not _CURRENCY.fullmatch(currency):
        raise GatewayError("invalid_currency", "currency is an ISO 4217 code such as CAD")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise GatewayError("invalid_url", "return and cancel URLs must be absolute http(s) URLs")


def _refuse_key_of(db: Session, model: type[Payment] | type[Operation], our_key: str) -> None:
    # One key, one request: a key that authorized cannot also refund, and back.
    if db.scalar(select(model.id).where(model.our_key == our_key)) is not None:
        raise GatewayError("idempotency_conflict", f"{our_key} was used for another request")


def _replay(payment: Payment, same_request: Callable[[Payment], bool]) -> Transaction:
    if not same_request(payment):
        raise GatewayError(
            "idempotency_conflict", f"{payment.our_key} was first used for a different request"
        )
    return _transaction(payment)


def _replay_operation(
    operation: Operation, same_request: Callable[[Operation], bool]
) -> Transaction:
    if not same_request(operation):
        raise GatewayError(
            "idempotency_conflict", f"{operation.our_key} was first used for a different request"
        )
    return _transaction(operation.payment)


def _new_payment(
    card: CardToken, amount: int, currency: str, our_key: str, capture: bool
) -> Payment:
    payment = Payment(
        our_key=our_key,
        reference=f"sbx_{secrets.token_urlsafe(12)}",
        token=card,
        amount=amount,
        currency=currency,
        capture_requested=capture,
        refunded_amount=0,
    )
    decline = DECLINES.get(card.behaviour)
    if decline:
        payment.state = TransactionState.DECLINED
        payment.decline_code, payment.decline_message = decline
    elif capture:
        payment.state = TransactionState.CAPTURED
        payment.captured_amount = amount
        payment.captured_at = utcnow()
    else:
        payment.state = TransactionState.AUTHORIZED
    return payment


def _summary(token: CardToken) -> CardSummary:
    return CardSummary(
        brand=token.brand, last4=token.last4, exp_month=token.exp_month, exp_year=token.exp_year
    )


def _transaction(payment: Payment) -> Transaction:
    amount = payment.captured_amount if payment.captured_amount is not None else payment.amount
    return Transaction(
        our_key=payment.our_key,
        state=payment.state,
        amount=amount,
        currency=payment.currency,
        reference=payment.reference,
        card=_summary(payment.token),
        decline_code=payment.decline_code,
        decline_message=payment.decline_message,
        refunded_amount=payment.refunded_amount,
        settlement_batch=payment.settlement_batch,
    )


def _checkout(checkout: HostedCheckout) -> Checkout:
    return Checkout(
        id=checkout.id,
        our_key=checkout.our_key,
        amount=checkout.amount,
        currency=checkout.currency,
        description=checkout.description,
        locale=checkout.locale,
        status=checkout.status,
        form_token=checkout.form_token,
        return_url=checkout.return_url,
        cancel_url=checkout.cancel_url,
    )
