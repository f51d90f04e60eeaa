"""Contract tests: the sandbox gateway behaves as the PaymentGateway protocol promises,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from shared.db import utcnow
from shared.gateway.protocol import (
    GatewayError,
    GatewayTimeout,
    PaymentGateway,
    Transaction,
    TransactionState,
)
from shared.gateway.sandbox import SANDBOX_CARDS, Behaviour, CardError, SandboxGateway
from shared.gateway.sandbox.store import Operation, Payment

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
DECLINE = "4000000000000002"
INSUFFICIENT = "4000000000009995"
TIMEOUT_APPROVE = "4000000000000119"
TIMEOUT_DECLINE = "4000000000000127"
UNSUPPORTED = "4111111111111111"

Tokenize = Callable[[str], str]


def count(gateway: SandboxGateway, model: type[Payment] | type[Operation]) -> int:
    with gateway.store.transaction() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def pay(gateway: SandboxGateway, card_token: Tokenize, key: str, amount: int = 5000) -> Transaction:
    return gateway.authorize(token=card_token(VISA), amount=amount, currency="CAD", our_key=key)


def test_is_a_payment_gateway(gateway: SandboxGateway) -> None:
    as_protocol: PaymentGateway = gateway
    assert as_protocol.name == "sandbox"


def test_the_test_cards_are_the_documented_ones() -> None:
    table = {card.number: card.behaviour for card in SANDBOX_CARDS}
    assert table == {
        VISA: Behaviour.APPROVE,
        MASTERCARD: Behaviour.APPROVE,
        AMEX: Behaviour.APPROVE,
        DECLINE: Behaviour.DECLINE,
        INSUFFICIENT: Behaviour.INSUFFICIENT,
        TIMEOUT_APPROVE: Behaviour.TIMEOUT_APPROVE,
        TIMEOUT_DECLINE: Behaviour.TIMEOUT_DECLINE,
    }


@pytest.mark.parametrize(
    ("pan", "brand"), [(VISA, "visa"), (MASTERCARD, "mastercard"), (AMEX, "amex")]
)
def test_approve_cards_are_captured(
    gateway: SandboxGateway, card_token: Tokenize, pan: str, brand: str
) -> None:
    answer = gateway.authorize(token=card_token(pan), amount=12345, currency="CAD", our_key="p1")

    assert answer.state is TransactionState.CAPTURED
    assert answer.approved
    assert answer.amount == 12345
    assert answer.currency == "CAD"
    assert answer.reference is not None
    assert answer.reference.startswith("sbx_")
    assert answer.card is not None
    assert (answer.card.brand, answer.card.last4) == (brand, pan[-4:])
    assert (answer.card.exp_month, answer.card.exp_year) == (12, 2035)
    assert answer.decline_code is None


def test_authorize_without_capture_is_authorized(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    answer = gateway.authorize(
        token=card_token(VISA), amount=700, currency="CAD", our_key="p1", capture=False
    )
    assert answer.state is TransactionState.AUTHORIZED


@pytest.mark.parametrize(
    ("pan", "code", "message"),
    [
        (DECLINE, "card_declined", "The card was declined."),
        (INSUFFICIENT, "insufficient_funds", "The card was declined: insufficient funds."),
        (UNSUPPORTED, "card_not_supported", "Card not supported in sandbox."),
    ],
)
def test_declines_come_back_as_declined_transactions(
    gateway: SandboxGateway, card_token: Tokenize, pan: str, code: str, message: str
) -> None:
    answer = gateway.authorize(token=card_token(pan), amount=5000, currency="CAD", our_key="p1")

    assert answer.state is TransactionState.DECLINED
    assert not answer.approved
    assert (answer.decline_code, answer.decline_message) == (code, message)
    assert gateway.lookup("p1") == answer


@pytest.mark.parametrize(
    ("pan", "final"),
    [(TIMEOUT_APPROVE, TransactionState.CAPTURED), (TIMEOUT_DECLINE, TransactionState.DECLINED)],
)
def test_timeout_cards_act_then_time_out(
    gateway: SandboxGateway, card_token: Tokenize, pan: str, final: TransactionState
) -> None:
    token = card_token(pan)
    with pytest.raises(GatewayTimeout):
        gateway.authorize(token=token, amount=5000, currency="CAD", our_key="p1")

    found = gateway.lookup("p1")
    assert found is not None
    assert found.state is final
    # Asking again with the same key is how a caller recovers: the stored outcome, no charge.
    again = gateway.authorize(token=token, amount=5000, currency="CAD", our_key="p1")
    assert again == found
    assert count(gateway, Payment) == 1


def test_authorize_is_idempotent_by_key(gateway: SandboxGateway, card_token: Tokenize) -> None:
    token = card_token(VISA)
    first = gateway.authorize(token=token, amount=5000, currency="CAD", our_key="p1")
    second = gateway.authorize(token=token, amount=5000, currency="CAD", our_key="p1")

    assert second == first
    assert count(gateway, Payment) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 5001},
        {"currency": "USD"},
        {"capture": False},
        {"token": "other"},
    ],
)
def test_same_key_different_request_is_a_conflict(
    gateway: SandboxGateway, card_token: Tokenize, change: dict[str, object]
) -> None:
    request: dict[str, object] = {
        "token": card_token(VISA),
        "amount": 5000,
        "currency": "CAD",
        "capture": True,
    }
    gateway.authorize(our_key="p1", **request)  # type: ignore[arg-type]
    if change.get("token") == "other":
        change = {"token": card_token(MASTERCARD)}

    with pytest.raises(GatewayError) as refused:
        gateway.authorize(our_key="p1", **(request | change))  # type: ignore[arg-type]
    assert refused.value.code == "idempotency_conflict"
    assert count(gateway, Payment) == 1


@pytest.mark.parametrize("pan", [VISA, DECLINE])
def test_a_token_pays_once(gateway: SandboxGateway, card_token: Tokenize, pan: str) -> None:
    token = card_token(pan)
    gateway.authorize(token=token, amount=5000, currency="CAD", our_key="p1")

    with pytest.raises(GatewayError) as refused:
        gateway.authorize(token=token, amount=5000, currency="CAD", our_key="p2")
    assert refused.value.code == "token_used"
    assert gateway.lookup("p2") is None


def test_unknown_token_is_refused(gateway: SandboxGateway) -> None:
    with pytest.raises(GatewayError) as refused:
        gateway.authorize(token="tok_nope", amount=5000, currency="CAD", our_key="p1")
    assert refused.value.code == "unknown_token"


@pytest.mark.parametrize(
    ("amount", "currency", "key", "code"),
    [
        (0, "CAD", "p1", "invalid_amount"),
        (-5, "CAD", "p1", "invalid_amount"),
        (True, "CAD", "p1", "invalid_amount"),
        (100, "cad", "p1", "invalid_currency"),
        (100, "CAD", "", "invalid_key"),
        (100, "CAD", "k" * 129, "invalid_key"),
    ],
)
def test_malformed_authorize_is_refused(
    gateway: SandboxGateway,
    card_token: Tokenize,
    amount: int,
    currency: str,
    key: str,
    code: str,
) -> None:
    with pytest.raises(GatewayError) as refused:
        gateway.authorize(token=card_token(VISA), amount=amount, currency=currency, our_key=key)
    assert refused.value.code == code


def test_lookup_of_an_unknown_key_is_none(gateway: SandboxGateway) -> None:
    assert gateway.lookup("never-sent") is None


def test_twenty_threads_one_key_one_authorization(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    token = card_token(VISA)
    start = threading.Barrier(20)
    answers: list[Transaction] = []
    failures: list[BaseException] = []

    def authorize() -> None:
        start.wait()
        try:
            answers.append(
                gateway.authorize(token=token, amount=5000, currency="CAD", our_key="race")
            )
        except BaseException as error:  # reported below, with the thread's own traceback
            failures.append(error)

    threads = [threading.Thread(target=authorize) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(answers) == 20
    assert len({answer.reference for answer in answers}) == 1
    assert count(gateway, Payment) == 1


def test_twenty_threads_two_keys_one_token_one_payment(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    token = card_token(VISA)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def authorize(key: str) -> None:
        start.wait()
        try:
            gateway.authorize(token=token, amount=5000, currency="CAD", our_key=key)
            outcomes.append(key)
        except GatewayError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=authorize, args=(f"k{i % 2}",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = {o for o in outcomes if o.startswith("k")}
    assert len(winners) == 1
    assert outcomes.count(winners.pop()) == 10
    assert outcomes.count("token_used") == 10
    assert count(gateway, Payment) == 1


# -- capture, void, refund -------------------------------------------------------


def test_capture_an_authorization(gateway: SandboxGateway, card_token: Tokenize) -> None:
    held = gateway.authorize(
        token=card_token(VISA), amount=5000, currency="CAD", our_key="p1", capture=False
    )
    assert held.reference is not None

    captured = gateway.capture(reference=held.reference, amount=4000, our_key="c1")
    assert captured.state is TransactionState.CAPTURED
    assert captured.amount == 4000
    assert gateway.capture(reference=held.reference, amount=4000, our_key="c1") == captured

    with pytest.raises(GatewayError) as twice:
        gateway.capture(reference=held.reference, amount=4000, our_key="c2")
    assert twice.value.code == "invalid_state"
    with pytest.raises(GatewayError) as conflict:
        gateway.capture(reference=held.reference, amount=3000, our_key="c1")
    assert conflict.value.code == "idempotency_conflict"


def test_capture_more_than_authorized_is_refused(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    held = gateway.authorize(
        token=card_token(VISA), amount=5000, currency="CAD", our_key="p1", capture=False
    )
    assert held.reference is not None
    with pytest.raises(GatewayError) as refused:
        gateway.capture(reference=held.reference, amount=5001, our_key="c1")
    assert refused.value.code == "invalid_amount"
    assert count(gateway, Operation) == 0


def test_unknown_reference_is_refused(gateway: SandboxGateway) -> None:
    with pytest.raises(GatewayError) as refused:
        gateway.refund(reference="sbx_nope", amount=100, our_key="r1")
    assert refused.value.code == "unknown_reference"


@pytest.mark.parametrize("capture", [False, True])
def test_void_before_settlement(
    gateway: SandboxGateway, card_token: Tokenize, capture: bool
) -> None:
    paid = gateway.authorize(
        token=card_token(VISA), amount=5000, currency="CAD", our_key="p1", capture=capture
    )
    assert paid.reference is not None

    voided = gateway.void(reference=paid.reference, our_key="v1")
    assert voided.state is TransactionState.VOIDED
    assert gateway.void(reference=paid.reference, our_key="v1") == voided
    assert gateway.lookup("p1") == voided
    with pytest.raises(GatewayError) as again:
        gateway.void(reference=paid.reference, our_key="v2")
    assert again.value.code == "invalid_state"


def test_void_a_decline_is_refused(gateway: SandboxGateway, card_token: Tokenize) -> None:
    declined = gateway.authorize(
        token=card_token(DECLINE), amount=5000, currency="CAD", our_key="p1"
    )
    assert declined.reference is not None
    with pytest.raises(GatewayError) as refused:
        gateway.void(reference=declined.reference, our_key="v1")
    assert refused.value.code == "invalid_state"


def test_partial_then_full_refund(gateway: SandboxGateway, card_token: Tokenize) -> None:
    paid = pay(gateway, card_token, "p1", amount=5000)
    assert paid.reference is not None

    partial = gateway.refund(reference=paid.reference, amount=2000, our_key="r1")
    assert partial.state is TransactionState.PARTIALLY_REFUNDED
    assert partial.refunded_amount == 2000
    full = gateway.refund(reference=paid.reference, amount=3000, our_key="r2")
    assert full.state is TransactionState.REFUNDED
    assert full.refunded_amount == 5000
    assert count(gateway, Operation) == 2


def test_a_refund_is_idempotent_by_its_own_key(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    paid = pay(gateway, card_token, "p1")
    assert paid.reference is not None

    first = gateway.refund(reference=paid.reference, amount=1000, our_key="r1")
    again = gateway.refund(reference=paid.reference, amount=1000, our_key="r1")
    assert again == first
    assert again.refunded_amount == 1000
    assert count(gateway, Operation) == 1
    with pytest.raises(GatewayError) as conflict:
        gateway.refund(reference=paid.reference, amount=1500, our_key="r1")
    assert conflict.value.code == "idempotency_conflict"
    # The refund key finds the payment it refunded, as a recovery job would ask.
    assert gateway.lookup("r1") == first


def test_refunds_never_exceed_the_amount(gateway: SandboxGateway, card_token: Tokenize) -> None:
    paid = pay(gateway, card_token, "p1", amount=5000)
    assert paid.reference is not None
    gateway.refund(reference=paid.reference, amount=4000, our_key="r1")

    with pytest.raises(GatewayError) as refused:
        gateway.refund(reference=paid.reference, amount=1001, our_key="r2")
    assert refused.value.code == "refund_exceeds_amount"
    found = gateway.lookup("p1")
    assert found is not None
    assert found.refunded_amount == 4000


@pytest.mark.parametrize("amount", [0, -1])
def test_a_refund_is_positive(gateway: SandboxGateway, card_token: Tokenize, amount: int) -> None:
    paid = pay(gateway, card_token, "p1")
    assert paid.reference is not None
    with pytest.raises(GatewayError) as refused:
        gateway.refund(reference=paid.reference, amount=amount, our_key="r1")
    assert refused.value.code == "invalid_amount"


def test_an_uncaptured_authorization_is_voided_not_refunded(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    held = gateway.authorize(
        token=card_token(VISA), amount=5000, currency="CAD", our_key="p1", capture=False
    )
    assert held.reference is not None
    with pytest.raises(GatewayError) as refused:
        gateway.refund(reference=held.reference, amount=100, our_key="r1")
    assert refused.value.code == "invalid_state"


def test_a_refunded_payment_cannot_be_voided(gateway: SandboxGateway, card_token: Tokenize) -> None:
    paid = pay(gateway, card_token, "p1")
    assert paid.reference is not None
    gateway.refund(reference=paid.reference, amount=100, our_key="r1")
    with pytest.raises(GatewayError) as refused:
        gateway.void(reference=paid.reference, our_key="v1")
    assert refused.value.code == "invalid_state"


def test_one_key_one_request_across_kinds(gateway: SandboxGateway, card_token: Tokenize) -> None:
    paid = pay(gateway, card_token, "p1")
    assert paid.reference is not None
    with pytest.raises(GatewayError) as refund_with_payment_key:
        gateway.refund(reference=paid.reference, amount=100, our_key="p1")
    assert refund_with_payment_key.value.code == "idempotency_conflict"

    gateway.refund(reference=paid.reference, amount=100, our_key="r1")
    with pytest.raises(GatewayError) as pay_with_refund_key:
        pay(gateway, card_token, "r1")
    assert pay_with_refund_key.value.code == "idempotency_conflict"


def test_concurrent_refunds_never_exceed_the_amount(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    paid = pay(gateway, card_token, "p1", amount=1000)
    reference = paid.reference
    assert reference is not None
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def refund(n: int) -> None:
        start.wait()
        try:
            gateway.refund(reference=reference, amount=100, our_key=f"r{n}")
            outcomes.append("refunded")
        except GatewayError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refund_exceeds_amount"] * 10 + ["refunded"] * 10
    found = gateway.lookup("p1")
    assert found is not None
    assert found.state is TransactionState.REFUNDED
    assert found.refunded_amount == 1000


def test_twenty_threads_one_refund_key_one_refund(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    paid = pay(gateway, card_token, "p1", amount=1000)
    reference = paid.reference
    assert reference is not None
    start = threading.Barrier(20)
    answers: list[Transaction] = []

    def refund() -> None:
        start.wait()
        answers.append(gateway.refund(reference=reference, amount=100, our_key="r1"))

    threads = [threading.Thread(target=refund) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 20
    assert {answer.refunded_amount for answer in answers} == {100}
    assert count(gateway, Operation) == 1


# -- card-present tokens ---------------------------------------------------------


def test_card_present_token_pays_like_any_token(gateway: SandboxGateway) -> None:
    token = gateway.tokenize_card_present(AMEX, 1, 2031, cardholder_name=None)
    answer = gateway.authorize(token=token, amount=900, currency="CAD", our_key="kiosk-1")
    assert answer.state is TransactionState.CAPTURED
    assert answer.card is not None
    assert (answer.card.brand, answer.card.last4) == ("amex", "0005")


@pytest.mark.parametrize(
    ("pan", "month", "year", "code"),
    [
        ("4242424242424241", 12, 2035, "invalid_number"),
        ("42424242", 12, 2035, "invalid_number"),
        (VISA, 1, 2020, "expired_card"),
        (VISA, 13, 2035, "invalid_expiry"),
    ],
)
def test_card_present_refuses_bad_cards(
    gateway: SandboxGateway, pan: str, month: int, year: int, code: str
) -> None:
    with pytest.raises(CardError) as refused:
        gateway.tokenize_card_present(pan, month, year, cardholder_name="A Payer")
    assert refused.value.code == code
    assert isinstance(refused.value, GatewayError)


def test_no_card_number_is_stored(
    gateway: SandboxGateway,
    card_token: Tokenize,
    store_dump: Callable[[SandboxGateway], bytes],
    find_pans: Callable[[bytes], list[str]],
) -> None:
    for n, card in enumerate(SANDBOX_CARDS):
        try:
            paid = gateway.authorize(
                token=card_token(card.number), amount=1000, currency="CAD", our_key=f"p{n}"
            )
        except GatewayTimeout:
            continue
        if paid.approved and paid.reference:
            gateway.refund(reference=paid.reference, amount=10, our_key=f"r{n}")
    gateway.settle(until=utcnow())

    dump = store_dump(gateway)
    assert b"4242" in dump  # the scan sees the data: last 4 digits are kept
    assert find_pans(dump) == []
