"""The status service: look-up with proof, and the plain-language report per state."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.orm import Session

from shared.actors import SYSTEM
from shared.customers import identifier_search
from shared.db import utcnow
from shared.identifiers import LookupInputError, transaction_id
from shared.models import Channel, Payment, PaymentStatus, ReceiptSequence, Tender
from shared.money import Money
from shared.payments import states as payment_states
from shared.payments.status import Tone, describe, find_payment, parse_amount, parse_check
from shared.receipts import numbering as receipts

S = PaymentStatus
TZ = "America/Toronto"
ROUTE = {
    S.POSTED: [S.POSTED],
    S.SETTLED: [S.POSTED, S.SETTLED],
    S.AUTHORIZED: [S.AUTHORIZED],
    S.UNKNOWN: [S.UNKNOWN],
    S.PENDING: [],
    S.DECLINED: [S.DECLINED],
    S.FAILED: [S.FAILED],
    S.VOIDED: [S.AUTHORIZED, S.VOIDED],
    S.REFUNDED: [S.POSTED, S.SETTLED, S.REFUNDED],
    S.PARTIALLY_REFUNDED: [S.POSTED, S.SETTLED, S.PARTIALLY_REFUNDED],
    S.REVERSED: [S.POSTED, S.SETTLED, S.REVERSED],
}


def payment_in(db: Session, status: PaymentStatus, tender: Tender = Tender.CARD) -> Payment:
    payment = Payment(
        transaction_id=transaction_id(),
        idempotency_key=str(uuid.uuid4()),
        channel=Channel.PORTAL,
        amount=12_345,
        currency="CAD",
        tender=tender,
        status=S.PENDING,
        payer_email="Jane@Example.com",
        created_at=dt.datetime(2026, 3, 14, 15, 0, tzinfo=dt.UTC),
    )
    db.add(payment)
    db.flush()
    for step in ROUTE[status]:
        if step is S.PARTIALLY_REFUNDED:
            payment.refunded_amount = 2_345
        payment_states.move(db, payment, step, SYSTEM)
    db.flush()
    return payment


def test_an_amount_in_the_locale_and_an_email_or_last_4() -> None:
    assert parse_amount("1 234,56", "CAD", "fr") == Money(123_456, "CAD")
    assert parse_amount("$1,234.56", "CAD", "en") == Money(123_456, "CAD")
    for bad in ("", "0", "-5", "abc", "1.234", "jane@example.com"):
        with pytest.raises(LookupInputError):
            parse_amount(bad, "CAD", "en")
    assert parse_check(" Jane@Example.COM ") == "jane@example.com"
    assert parse_check(" 4 2 4 2 ") == "4242"
    for bad in ("", "jane@", "@example.com", "424", "42424", "\uff14\uff12\uff14\uff12", "12.50"):
        with pytest.raises(LookupInputError):
            parse_check(bad)


def _amount(text: str, locale: str = "en") -> Money:
    return parse_amount(text, "CAD", locale)


def test_find_by_transaction_id_with_the_amount(db: Session) -> None:
    payment = payment_in(db, S.POSTED)
    tx = payment.transaction_id
    assert find_payment(db, tx.lower(), _amount("123.45"), None) is payment
    assert find_payment(db, tx, _amount("123,45", "fr"), None) is payment
    assert find_payment(db, tx, _amount("123.45"), "jane@example.com") is payment
    assert find_payment(db, tx, _amount("123.44"), None) is None
    assert find_payment(db, tx, _amount("123.45"), "john@example.com") is None
    assert find_payment(db, "TX-0000-0000-0000", _amount("123.45"), None) is None


def test_a_receipt_number_needs_the_email_or_the_card_s_last_4(db: Session) -> None:
    payment = payment_in(db, S.POSTED)
    payment.card_last4 = "4242"
    number = receipts.issue(db, payment, SYSTEM).receipt_number
    assert find_payment(db, number, _amount("123.45"), None) is None
    assert find_payment(db, number, _amount("123.45"), "jane@example.com") is payment
    assert find_payment(db, number, _amount("123.45"), "4242") is payment
    assert find_payment(db, number, _amount("123.45"), "1881") is None
    assert find_payment(db, number, _amount("123.40"), "4242") is None


def test_receipts_after_the_millionth_of_the_year_are_found(db: Session) -> None:
    """Receipt numbers grow a seventh digit at the millionth of a year (a city's utility
    bills alone can pass it); residents and staff must still find them."""
    payment = payment_in(db, S.POSTED)
    year = utcnow().year
    sequence = db.get(ReceiptSequence, year) or ReceiptSequence(year=year)
    sequence.last_number = 999_999
    db.add(sequence)
    db.flush()
    first, second = payment, payment_in(db, S.POSTED)
    numbers = [receipts.issue(db, p, SYSTEM).receipt_number for p in (first, second)]
    assert numbers == [f"R-{year}-1000000", f"R-{year}-1000001"]
    for paid, number in zip((first, second), numbers, strict=True):
        assert find_payment(db, number.lower(), _amount("123.45"), "jane@example.com") is paid
        jump = identifier_search.identify(db, number.replace("-", " "))
        assert jump == identifier_search.Jump("payment", transaction_id=paid.transaction_id)


def test_no_email_on_the_payment_never_matches(db: Session) -> None:
    payment = payment_in(db, S.POSTED)
    payment.payer_email = None
    db.flush()
    assert find_payment(db, payment.transaction_id, _amount("123.45"), "jane@example.com") is None
    number = receipts.issue(db, payment, SYSTEM).receipt_number
    assert find_payment(db, number, _amount("123.45"), "") is None


def test_posted_in_plain_words(db: Session) -> None:
    report = describe(payment_in(db, S.POSTED, Tender.CASH), "en", TZ)
    assert report.tone is Tone.DONE
    assert report.headline.startswith("Your payment of $123.45 was received on March 14, 2026")
    assert [s.label for s in report.timeline] == [
        "Payment started",
        "Applied to your account",
        "Funds reached the city",
    ]
    assert report.timeline[-1].at is None and report.timeline[-1].when == "Not yet"
    assert report.timeline[0].when == "March 14, 2026, 11:00\u202fa.m. (Eastern Daylight Time)"


def test_settled_in_french(db: Session) -> None:
    report = describe(payment_in(db, S.SETTLED), "fr", TZ)
    assert report.headline.startswith("Votre paiement de 123,45\u00a0$ a été reçu le ")
    assert report.details[0].startswith("Les fonds ont été reçus par la Ville le ")
    assert all(step.at is not None for step in report.timeline)


@pytest.mark.parametrize("status", [S.PENDING, S.UNKNOWN, S.AUTHORIZED])
def test_still_confirming_never_says_failed(db: Session, status: PaymentStatus) -> None:
    report = describe(payment_in(db, status), "en", TZ)
    words = " ".join([report.headline, *report.details]).lower()
    assert "still confirming" in words and "fail" not in words
    assert report.tone is Tone.WAITING and report.may_change_soon


@pytest.mark.parametrize("status", [S.DECLINED, S.FAILED])
def test_did_not_go_through(db: Session, status: PaymentStatus) -> None:
    report = describe(payment_in(db, status), "en", TZ)
    assert report.headline == "This payment did not go through. Nothing was charged."
    assert report.tone is Tone.PROBLEM and not report.may_change_soon


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (S.VOIDED, "was cancelled on"),
        (S.REFUNDED, "was refunded in full on"),
        (S.PARTIALLY_REFUNDED, "$23.45 of this payment of $123.45 was refunded on"),
        (S.REVERSED, "was reversed on"),
    ],
)
def test_money_going_back_is_explained(db: Session, status: PaymentStatus, words: str) -> None:
    report = describe(payment_in(db, status), "en", TZ)
    assert words in report.headline
    assert report.timeline[-1].at is not None


@pytest.mark.parametrize("locale", ["fr", "es"])
@pytest.mark.parametrize("status", list(S))
def test_every_state_is_translated(db: Session, status: PaymentStatus, locale: str) -> None:
    english = describe(payment_in(db, status), "en", TZ)
    other = describe(payment_in(db, status), locale, TZ)
    assert other.headline != english.headline
    assert [s.label for s in other.timeline] != [s.label for s in english.timeline]
