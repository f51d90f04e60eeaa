from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from paydesk.demo_data import DEMO_PASSWORDS, UTILITY_BILLING, is_seeded, seed_demo
from shared import audit
from shared.balance_sources.sandbox import SandboxBooks
from shared.config import Settings
from shared.finance import journal
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.messaging.webhooks import EVENT_TYPES
from shared.models import (
    Account,
    ApprovalAction,
    ApprovalRequest,
    ApprovalStatus,
    BalanceSourceSetting,
    BankStatement,
    Correction,
    CorrectionKind,
    Customer,
    Department,
    Deposit,
    DepositKind,
    DrawerSession,
    DrawerStatus,
    ExceptionCase,
    ExceptionKind,
    GlEntry,
    Invoice,
    Payment,
    PaymentStatus,
    Receipt,
    SourceMode,
    StaffUser,
    WebhookDelivery,
    WebhookSubscription,
    WriteBack,
)
from shared.reconciliation import book
from tests.conftest import Database


def test_demo_data_covers_departments_customers_and_payment_states(
    fresh_database: Database, sandbox: SandboxGateway
) -> None:
    factory = fresh_database.sessionmaker()
    with factory() as session:
        assert not is_seeded(session)
        summary = seed_demo(session, Settings(), sandbox, sandbox)
        assert is_seeded(session)
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(Department) >= 5
        assert count(Customer) == 50
        assert count(Account) > 100  # everyone has tax and water, many have more
        assert count(Invoice) == summary.invoices
        states = set(session.scalars(select(Payment.status).distinct()))
        assert states >= {
            PaymentStatus.POSTED,
            PaymentStatus.SETTLED,
            PaymentStatus.DECLINED,
            PaymentStatus.UNKNOWN,
            PaymentStatus.FAILED,
            PaymentStatus.VOIDED,
            PaymentStatus.REFUNDED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REVERSED,
        }
        assert count(Receipt) >= 10
        # Utility bills live in the utility billing system: their payments are written back.
        systems = {
            (department, system)
            for department, system in session.execute(
                select(Department.code, Account.source_system)
                .join(Account, Account.department_id == Department.id)
                .distinct()
            )
        }
        assert systems == {
            ("tax", "local"),
            ("utilities", UTILITY_BILLING),
            ("permits", "local"),
            ("invoicing", "local"),
            ("enforcement", "local"),
        }
        assert count(WriteBack) > 0
        assert set(session.scalars(select(StaffUser.username))) == set(DEMO_PASSWORDS)
        # Both queues have something on first start: a duplicate pair with a refund request
        # waiting for a supervisor, and a card payment in doubt for a while.
        kinds = set(session.scalars(select(ExceptionCase.kind)))
        assert {ExceptionKind.POSSIBLE_DUPLICATE, ExceptionKind.LONG_UNKNOWN} <= kinds
        waiting = session.scalars(
            select(ApprovalRequest).where(ApprovalRequest.status == ApprovalStatus.PENDING)
        ).all()
        assert [(r.action, r.reason_code) for r in waiting] == [
            (ApprovalAction.REFUND, "duplicate")
        ]
        # The demo's refunds and void went through approval like any other; its reversal is
        # a chargeback that the processor's settlement report recorded.
        done = set(
            session.scalars(
                select(ApprovalRequest.action).where(
                    ApprovalRequest.status == ApprovalStatus.EXECUTED
                )
            )
        )
        assert done == {ApprovalAction.REFUND, ApprovalAction.VOID, ApprovalAction.REVERSAL}
        reversal = session.scalars(
            select(ApprovalRequest).where(ApprovalRequest.action == ApprovalAction.REVERSAL)
        ).one()
        assert (reversal.requested_by_id, reversal.reason_code) == (None, "chargeback")
        # Two days of the cashier's drawers, both in one bag; the card batch expected in the
        # bank net of fees; the journal written, over two days, and balanced.
        closed = session.scalars(select(DrawerSession).order_by(DrawerSession.id)).all()
        assert [d.status for d in closed] == [DrawerStatus.CLOSED, DrawerStatus.CLOSED]
        assert closed[0].closed_at is not None and closed[1].closed_at is not None
        assert closed[0].closed_at.date() < closed[1].closed_at.date()
        bag = session.scalars(select(Deposit).where(Deposit.kind == DepositKind.COUNTER)).one()
        assert bag.bag_number == "RIV-0001" and {d.deposit_id for d in closed} == {bag.id}
        counter = session.scalars(
            select(Payment).where(Payment.channel == "counter", Payment.tender != "card")
        ).all()
        assert counter and all(p.drawer_session_id is not None for p in counter)
        # The first batch's sales; then the next one's refunds and chargeback taken back out.
        card, taken_back = session.scalars(
            select(Deposit).where(Deposit.kind == DepositKind.CARD).order_by(Deposit.id)
        ).all()
        assert card.card_fees > 0 and card.total == card.card_gross - card.card_fees
        refunded_or_reversed = select(func.sum(Correction.amount)).where(
            Correction.kind.in_((CorrectionKind.REFUND, CorrectionKind.REVERSAL))
        )
        assert taken_back.total == -(session.scalar(refunded_or_reversed) or 0) < 0
        # One statement: the bag and both batches found in it, one credit that is a break.
        (statement,) = session.scalars(select(BankStatement)).all()
        assert all(book.line_of(session, d) for d in (bag, card, taken_back))
        (gap,) = session.scalars(
            select(ExceptionCase).where(ExceptionCase.kind == ExceptionKind.RECONCILIATION_BREAK)
        ).all()
        assert gap.amount == 4_250 and gap.details["statement"] == statement.statement_id
        entries = session.scalars(select(GlEntry)).all()
        days = {e.journal_date for e in entries}
        assert len(days) >= 2
        journal.check_balanced(journal.entries_between(session, min(days), max(days)))
        assert audit.verify(session).ok


def test_the_demo_pulls_utility_balances_from_the_sandbox_source_system(
    fresh_database: Database, sandbox: SandboxGateway, tmp_path: Path
) -> None:
    settings = Settings(var_dir=tmp_path, sandbox_source_systems=(UTILITY_BILLING,))
    factory = fresh_database.sessionmaker()
    with factory() as session:
        seed_demo(session, settings, sandbox, sandbox)
        source = session.get(BalanceSourceSetting, UTILITY_BILLING)
        assert source is not None
        assert (source.mode, source.url) == (
            SourceMode.PULL,
            f"{settings.base_url}/sandbox-source/{UTILITY_BILLING}/balances",
        )
        # The sandbox's books hold what Paydesk holds for its accounts.
        account = session.scalars(
            select(Account).where(Account.source_system == UTILITY_BILLING).limit(1)
        ).one()
        books = SandboxBooks(tmp_path / "sandbox-source", UTILITY_BILLING)
        listed = books.bills(account.account_number)
        assert listed is not None
        assert sum(bill["owing"] for bill in listed) == sum(
            i.owing for i in account.invoices if i.status == "open"
        )
        # The sandbox's stand-in for the city's CRM is subscribed to every event, and the
        # demo's payments are already queued for it.
        (crm,) = session.scalars(select(WebhookSubscription)).all()
        assert crm.url == f"{settings.base_url}/sandbox-source/webhooks/{crm.id}"
        assert set(crm.event_types) == set(EVENT_TYPES)
        queued = {d.event_type for d in session.scalars(select(WebhookDelivery))}
        assert {"payment.posted", "receipt.issued", "exception.opened"} <= queued
