"""The worker as `paydesk worker` runs it: its handlers and policies, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from paydesk.runtime import Runtime
from paydesk.worker import Worker
from shared.config import WriteBackTarget
from shared.messaging import outbox
from shared.messaging.write_back import WRITE_BACK
from shared.models import (
    Deposit,
    DepositKind,
    ExceptionCase,
    ExceptionKind,
    OutboxMessage,
    OutboxStatus,
    WriteBack,
    WriteBackStatus,
)
from tests.conftest import BACKENDS
from tests.integrations.test_write_back import SECRET, bills_from_tax_system, pay
from tests.shared.smtp_server import free_port
from tests.support.apps import runtime_on_fresh_database
from tests.support.source_system import SourceSystem

PORT = free_port()


@pytest.fixture(params=BACKENDS)
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    target = WriteBackTarget("tax-system", f"http://127.0.0.1:{PORT}/wb", SECRET)
    with runtime_on_fresh_database(
        request.param, tmp_path, secret_key="worker-tests", write_back_targets=(target,)
    ) as runtime:
        yield runtime


def test_a_pass_writes_back_a_posted_payment(runtime: Runtime) -> None:
    with runtime.factory() as db:
        tax, _, water = bills_from_tax_system(db)
        pay(db, tax, water)
        account_number = tax.account.account_number
    with SourceSystem(PORT) as system:
        done = Worker(runtime).tick()
    assert done["sent"] == 1
    (request,) = system.received
    assert request.json["account_number"] == account_number
    with runtime.factory() as db:
        assert db.scalars(select(WriteBack.status)).all() == [WriteBackStatus.CONFIRMED]


def test_a_write_back_outlives_the_attempts_an_email_gets(runtime: Runtime) -> None:
    with runtime.factory() as db:
        tax, _, _ = bills_from_tax_system(db)
        pay(db, tax)
        message = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == WRITE_BACK)).one()
        message.attempts = outbox.MAX_ATTEMPTS
        db.commit()
    assert Worker(runtime).tick()["sent"] == 0  # nobody listens on PORT
    with runtime.factory() as db:
        message = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == WRITE_BACK)).one()
        assert message.status is OutboxStatus.PENDING
        assert message.attempts == outbox.MAX_ATTEMPTS + 1


def test_a_deposit_the_bank_never_credited_becomes_a_break(runtime: Runtime) -> None:
    with runtime.factory() as db:
        db.add(
            Deposit(
                kind=DepositKind.COUNTER,
                bag_number="BAG-NEVER",
                currency="CAD",
                business_date=dt.date(2026, 1, 5),
                cash=5_000,
                total=5_000,
                idempotency_key="worker-break",
            )
        )
        db.commit()
    assert Worker(runtime).tick()["reconciliation_breaks"] == 1
    assert Worker(runtime).tick()["reconciliation_breaks"] == 0
    with runtime.factory() as db:
        (case,) = db.scalars(
            select(ExceptionCase).where(ExceptionCase.kind == ExceptionKind.RECONCILIATION_BREAK)
        ).all()
        assert case.details["reference"] == "BAG-NEVER" and case.amount == 5_000
