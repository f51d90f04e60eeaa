"""Real concurrency on a real database: threads, processes, and a killed process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from shared.actors import Actor, ActorType
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import (
    Account,
    AccountCredit,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Receipt,
    Tender,
)
from shared.payments.recovery import recover
from shared.payments.taking import (
    Item,
    PaymentOutcome,
    PaymentRefused,
    PaymentRequest,
    take_payment,
)
from tests import factories
from tests.conftest import Database
from tests.shared.sandbox import authorizations, token

ROOT = Path(__file__).resolve().parents[3]
CITIZEN = Actor(ActorType.CITIZEN, "citizen")


def _bills(database: Database, amounts: list[int]) -> list[str]:
    with database.sessionmaker()() as db:
        return [b.invoice_number for b in factories.bills(db, amounts)]


def _count(database: Database, model: type[object]) -> int:
    with database.sessionmaker()() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_twenty_threads_with_one_key_make_one_payment(
    fresh_database: Database, sandbox: SandboxGateway
) -> None:
    (invoice,) = _bills(fresh_database, [12_345])
    request = PaymentRequest(
        items=(Item(invoice),),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=str(uuid.uuid4()),
        currency="CAD",
        card_token=token(sandbox),
    )
    factory = fresh_database.sessionmaker()

    def attempt(_: int) -> PaymentOutcome:
        with factory() as session:
            return take_payment(session, sandbox, request, CITIZEN)

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert len({o.payment.id for o in outcomes}) == 1
    assert _count(fresh_database, Payment) == 1
    assert _count(fresh_database, Receipt) == 1
    assert authorizations(sandbox, request.idempotency_key) == 1
    with factory() as session:
        assert session.scalars(select(Payment.status)).one() is PaymentStatus.POSTED


def test_concurrent_payments_get_gap_free_receipt_numbers(fresh_database: Database) -> None:
    count = 200 if fresh_database.backend == "postgres" else 60
    invoices = _bills(fresh_database, [1_000] * count)
    factory = fresh_database.sessionmaker()

    def pay(invoice: str) -> None:
        request = PaymentRequest(
            items=(Item(invoice),),
            tender=Tender.CASH,
            channel="counter",  # type: ignore[arg-type]
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=1_000,
        )
        with factory() as session:
            take_payment(session, None, request, CITIZEN)  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(pay, invoices))
    with factory() as session:
        sequences = sorted(session.scalars(select(Receipt.sequence)))
        numbers = set(session.scalars(select(Receipt.receipt_number)))
    assert sequences == list(range(1, count + 1))
    assert len(numbers) == count


def _pay_in_process(
    database: Database, sandbox_url: str, key: str, invoice: str, card: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.shared.pay_once",
            database.url,
            sandbox_url,
            key,
            invoice,
            card,
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_one_bill_paid_in_cash_by_eight_at_once_is_paid_once(fresh_database: Database) -> None:
    """Eight counters take the whole of one bill at the same moment, each with its own key:
    one payment goes through; the others are refused and leave nothing behind."""
    (invoice,) = _bills(fresh_database, [5_000])
    factory = fresh_database.sessionmaker()
    with factory() as session:
        balance_before = session.scalars(select(Account.balance)).one()

    def pay(_: int) -> str:
        request = PaymentRequest(
            items=(Item(invoice, 5_000),),
            tender=Tender.CASH,
            channel="counter",  # type: ignore[arg-type]
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=5_000,
        )
        with factory() as session:
            try:
                take_payment(session, None, request, CITIZEN)  # type: ignore[arg-type]
            except PaymentRefused as refused:
                return refused.code
            return "paid"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(pay, range(8)))
    assert answers.count("paid") == 1
    assert set(answers) - {"paid"} <= {"amount_exceeds", "not_owing"}
    assert _count(fresh_database, Payment) == 1 and _count(fresh_database, Receipt) == 1
    with factory() as session:
        paid = session.scalars(select(Invoice).where(Invoice.invoice_number == invoice)).one()
        assert (paid.amount_paid, paid.status) == (5_000, InvoiceStatus.PAID)
        assert session.scalars(select(Account.balance)).one() == balance_before - 5_000


def test_several_processes_with_one_key_make_one_payment(
    fresh_database: Database, tmp_path: Path
) -> None:
    sandbox_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    sandbox = SandboxGateway(sandbox_url, "http://testserver/sandbox-gateway")
    (invoice,) = _bills(fresh_database, [4_200])
    key, card = str(uuid.uuid4()), token(sandbox)
    command = [
        sys.executable,
        "-m",
        "tests.shared.pay_once",
        fresh_database.url,
        sandbox_url,
        key,
        invoice,
        card,
    ]
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert len({r["payment_id"] for r in results}) == 1
    assert _count(fresh_database, Payment) == 1
    assert _count(fresh_database, Receipt) == 1
    assert authorizations(sandbox, key) == 1
    sandbox.close()


def test_a_process_killed_after_approval_is_recovered_and_never_charged_twice(
    fresh_database: Database, tmp_path: Path
) -> None:
    sandbox_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    sandbox = SandboxGateway(sandbox_url, "http://testserver/sandbox-gateway")
    (invoice,) = _bills(fresh_database, [8_800])
    key, card = str(uuid.uuid4()), token(sandbox)

    killed = _pay_in_process(
        fresh_database, sandbox_url, key, invoice, card, "--die-after-approval"
    )
    assert killed.returncode == -9  # SIGKILL, right after the processor approved
    factory = fresh_database.sessionmaker()
    with factory() as session:
        payment = session.scalars(select(Payment)).one()
        assert payment.status is PaymentStatus.PENDING  # written before the gateway call

    assert recover(factory, sandbox, dt.timedelta(0)) == 1
    with factory() as session:
        payment = session.scalars(select(Payment)).one()
        assert payment.status is PaymentStatus.POSTED
        steps = list(
            session.scalars(
                select(PaymentStatusChange.to_status)
                .where(PaymentStatusChange.payment_id == payment.id)
                .order_by(PaymentStatusChange.id)
            )
        )
        assert steps == [
            PaymentStatus.PENDING,
            PaymentStatus.UNKNOWN,
            PaymentStatus.AUTHORIZED,
            PaymentStatus.POSTED,
        ]

    # The citizen presses "pay" again with the same form (same key): no second charge.
    retried = _pay_in_process(fresh_database, sandbox_url, key, invoice, card)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["status"] == "posted"
    assert authorizations(sandbox, key) == 1
    assert _count(fresh_database, Receipt) == 1
    sandbox.close()


def _paid_once(database: Database, invoice: str, amount: int) -> None:
    """The bill is paid exactly once: no credit, no negative balance, one receipt."""
    with database.sessionmaker()() as session:
        bill = session.scalars(select(Invoice).where(Invoice.invoice_number == invoice)).one()
        assert (bill.amount_paid, bill.status) == (amount, InvoiceStatus.PAID)
        assert session.scalars(select(Account.balance)).one() == 0
        assert session.scalar(select(func.count()).select_from(AccountCredit)) == 0
        posted = session.scalars(
            select(Payment).where(Payment.status == PaymentStatus.POSTED)
        ).all()
        assert len(posted) == 1
    assert _count(database, Receipt) == 1


def test_three_browsers_paying_one_bill_by_card_pay_it_once(
    fresh_database: Database, sandbox: SandboxGateway
) -> None:
    """Three browsers finish the card page for one $323.00 bill together, each with its own
    key: one is charged; the others are refused before the processor is asked."""
    (invoice,) = _bills(fresh_database, [32_300])
    factory = fresh_database.sessionmaker()
    requests = [
        PaymentRequest(
            items=(Item(invoice),),
            tender=Tender.CARD,
            channel="portal",  # type: ignore[arg-type]
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            card_token=token(sandbox),
        )
        for _ in range(3)
    ]

    def pay(request: PaymentRequest) -> str:
        with factory() as session:
            try:
                return str(take_payment(session, sandbox, request, CITIZEN).payment.status)
            except PaymentRefused as refused:
                return refused.code

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(pay, requests))
    assert answers.count("posted") == 1
    assert set(answers) - {"posted"} <= {"held", "not_owing"}
    charged = sum(authorizations(sandbox, r.idempotency_key) for r in requests)
    assert charged == 1
    _paid_once(fresh_database, invoice, 32_300)


def test_four_processes_paying_one_bill_with_their_own_keys_charge_once(
    fresh_database: Database, tmp_path: Path
) -> None:
    sandbox_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    sandbox = SandboxGateway(sandbox_url, "http://testserver/sandbox-gateway")
    (invoice,) = _bills(fresh_database, [32_300])
    keys = [str(uuid.uuid4()) for _ in range(4)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.shared.pay_once",
                fresh_database.url,
                sandbox_url,
                key,
                invoice,
                token(sandbox),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for key in keys
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sum(1 for r in results if r.get("status") == "posted") == 1
    assert {r["refused"] for r in results if "refused" in r} <= {"held", "not_owing"}
    assert sum(authorizations(sandbox, key) for key in keys) == 1
    _paid_once(fresh_database, invoice, 32_300)
    sandbox.close()
