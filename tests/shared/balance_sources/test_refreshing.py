"""Pulled balances against a real source system on loopback: fresh, slow, failing,
contradicting and answering out of order; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.balance_sources.refreshing import Refresher
from shared.db import utcnow
from shared.models import (
    Account,
    AuditEvent,
    Channel,
    Invoice,
    InvoiceStatus,
    Payment,
    Tender,
)
from shared.payments.taking import Item, PaymentRefused, PaymentRequest, take_payment
from tests import factories
from tests.shared.balance_sources.helpers import AGENT, pull_from, settings, utility_bill
from tests.shared.no_gateway import NoGateway
from tests.support.pull_source import PullSource, bill


def refreshed(db: Session, refresher: Refresher, account: Account, force: bool = False):  # type: ignore[no-untyped-def]
    result = refresher.refresh(db, [account], AGENT, force=force)
    db.commit()
    db.expire_all()
    return result


def test_a_pulled_balance_replaces_the_one_held_here_with_its_time(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    account = invoice.account
    pull_from(db, source.url)
    number = account.account_number
    # The system says less is owing on the bill, and holds a new one.
    source.books[number] = [
        bill(invoice.invoice_number, 7_500, invoice.fee_type.code, amount_due=10_000),
        bill("UB-NEW-1", 2_000, invoice.fee_type.code),
    ]
    result = refreshed(db, refresher, account)
    assert not result.failed()
    assert source.asked == [number]
    assert account.balance == 9_500
    assert account.balance_as_of is not None
    assert result.accounts[account.id].as_of == account.balance_as_of
    assert db.get(Invoice, invoice.id).owing == 7_500  # type: ignore[union-attr]
    new = db.scalars(select(Invoice).where(Invoice.invoice_number == "UB-NEW-1")).one()
    assert (new.account_id, new.owing) == (account.id, 2_000)
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == audit.AuditAction.BALANCES_PULLED)
    ).one()
    assert event.details["bills"][invoice.invoice_number] == {"before": 10_000, "after": 7_500}
    assert event.details["balance"] == {"before": 10_000, "after": 9_500}


def test_a_fresh_balance_is_not_asked_again_and_local_accounts_never(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source)
    (local,) = factories.bills(db, [3_000])
    pull_from(db, source.url)
    refreshed(db, refresher, invoice.account)
    result = refreshed(db, refresher, invoice.account)
    assert not result.failed()
    refreshed(db, refresher, local.account)
    assert source.asked == [invoice.account.account_number]


def test_a_slow_system_leaves_the_last_known_balance_and_says_so(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    pull_from(db, source.url, timeout_ms=200)
    source.delay = 5
    source.books[invoice.account.account_number] = [bill(invoice.invoice_number, 1)]
    result = refreshed(db, refresher, invoice.account)
    (freshness,) = result.failed().values()
    assert freshness.problem == "utility did not answer in time"
    assert invoice.account.balance == 10_000
    assert db.get(Invoice, invoice.id).owing == 10_000  # type: ignore[union-attr]


def test_a_failing_system_is_not_asked_once_its_breaker_opens(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source)
    pull_from(db, source.url)
    source.status = 503
    account = invoice.account
    for _ in range(2):  # the breaker opens after two failures (the tests' setting)
        (freshness,) = refreshed(db, refresher, account).failed().values()
        assert freshness.problem == "utility answered HTTP 503"
    (freshness,) = refreshed(db, refresher, account).failed().values()
    assert freshness.problem == "utility has been failing; not asked again yet"
    assert len(source.asked) == 2
    assert account.balance == 10_000


def test_an_older_answer_never_overwrites_a_newer_one(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    pull_from(db, source.url)
    number = invoice.account.account_number
    now = utcnow()
    source.as_of = now
    source.books[number] = [bill(invoice.invoice_number, 6_000)]
    refreshed(db, refresher, invoice.account, force=True)
    # An answer the system made a minute earlier arrives after it (two refreshes crossing).
    source.as_of = now - dt.timedelta(minutes=1)
    source.books[number] = [bill(invoice.invoice_number, 9_000)]
    result = refreshed(db, refresher, invoice.account, force=True)
    assert not result.failed()
    assert invoice.account.balance == 6_000
    assert db.get(Invoice, invoice.id).owing == 6_000  # type: ignore[union-attr]


def test_a_bill_the_system_no_longer_lists_owes_nothing(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    pull_from(db, source.url)
    source.books[invoice.account.account_number] = []
    refreshed(db, refresher, invoice.account)
    found = db.get(Invoice, invoice.id)
    assert found is not None
    assert (found.status, found.owing, invoice.account.balance) == (InvoiceStatus.PAID, 0, 0)


def test_an_account_with_news_the_system_has_not_heard_keeps_what_paydesk_knows(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    second = factories.invoice(db, invoice.account, invoice.fee_type, 4_000)
    db.commit()
    factories.paid_in_cash(db, second, AGENT)  # its write-back is pending
    pull_from(db, source.url)
    # The system has not heard of the payment yet: it still lists the bill.
    source.books[invoice.account.account_number] = [
        bill(invoice.invoice_number, 10_000),
        bill(second.invoice_number, 4_000),
    ]
    refreshed(db, refresher, invoice.account)
    assert db.get(Invoice, second.id).status is InvoiceStatus.PAID  # type: ignore[union-attr]


def cash(invoice: Invoice, amount: int | None = None) -> PaymentRequest:
    return PaymentRequest(
        items=(Item(invoice.invoice_number, amount),),
        tender=Tender.CASH,
        channel=Channel.COUNTER,
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        cash_tendered=100_000,
    )


def test_a_bill_paid_elsewhere_is_refused_at_payment(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    pull_from(db, source.url)
    source.books[invoice.account.account_number] = []  # paid at the city's office
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash(invoice), AGENT, balances=refresher)
    assert refused.value.code == "paid_elsewhere"
    assert refused.value.message == (
        f"Bill {invoice.invoice_number} was just paid elsewhere, its billing system says: "
        "it now owes nothing. Nothing was charged."
    )
    assert db.scalars(select(Payment)).all() == []
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == audit.AuditAction.PAYMENT_REQUEST_REFUSED)
    ).one()
    assert event.details == {"code": "paid_elsewhere"}
    # What the system said is kept: the bill shows as paid.
    db.expire_all()
    assert db.get(Invoice, invoice.id).status is InvoiceStatus.PAID  # type: ignore[union-attr]


def test_a_changed_amount_is_refused_with_the_new_amount_then_taken(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    pull_from(db, source.url)
    source.books[invoice.account.account_number] = [bill(invoice.invoice_number, 8_000)]
    with pytest.raises(PaymentRefused) as refused:
        take_payment(db, NoGateway(), cash(invoice), AGENT, balances=refresher)
    assert refused.value.code == "balance_changed"
    assert "now owes $80.00" in refused.value.message
    # Asked again with the new amount (the balance is fresh now): taken.
    outcome = take_payment(db, NoGateway(), cash(invoice), AGENT, balances=refresher)
    assert outcome.payment.amount == 8_000
    assert len(source.asked) == 1


def test_a_payment_goes_ahead_when_the_system_is_down(
    db: Session, source: PullSource, refresher: Refresher
) -> None:
    invoice = utility_bill(db, source, 10_000)
    pull_from(db, source.url)
    source.status = 500
    outcome = take_payment(db, NoGateway(), cash(invoice), AGENT, balances=refresher)
    assert outcome.payment.amount == 10_000


def test_a_system_without_a_shared_secret_is_not_asked(db: Session, source: PullSource) -> None:
    invoice = utility_bill(db, source)
    pull_from(db, source.url)
    unsigned = Refresher(settings(write_back_targets=()))
    try:
        (freshness,) = refreshed(db, unsigned, invoice.account).failed().values()
    finally:
        unsigned.close()
    assert freshness.problem == "utility has no address or no shared secret set"
    assert source.asked == []
