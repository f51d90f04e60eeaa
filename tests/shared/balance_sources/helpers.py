"""Helpers for the balance-source tests: a utility system Paydesk pulls from."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.config import Settings, WriteBackTarget
from shared.db import utcnow
from shared.models import BalanceSourceSetting, Invoice, SourceMode
from tests import factories
from tests.support.pull_source import PullSource, bill

SYSTEM = "utility"
SECRET = "utility-shared-secret"
AGENT = Actor(ActorType.STAFF, "agent1")


def settings(**changes: object) -> Settings:
    # The write-back target carries the secret the system shares with Paydesk.
    base = Settings(
        secret_key="x",
        write_back_targets=(WriteBackTarget(SYSTEM, "http://127.0.0.1:9/unused", SECRET),),
        balance_breaker_failures=2,
        balance_breaker_seconds=3600,
    )
    return base.with_(**changes)


def pull_from(db: Session, url: str, timeout_ms: int = 2000) -> None:
    db.merge(
        BalanceSourceSetting(
            system=SYSTEM,
            mode=SourceMode.PULL,
            url=url,
            timeout_ms=timeout_ms,
            updated_by="admin",
            updated_at=utcnow(),
        )
    )
    db.commit()


def utility_bill(db: Session, source: PullSource, amount: int = 10_000) -> Invoice:
    """A bill on an account of the utility system, which the source holds too."""
    (invoice,) = factories.bills(db, [amount])
    invoice.account.source_system = SYSTEM
    db.commit()
    source.books[invoice.account.account_number] = [
        bill(invoice.invoice_number, amount, invoice.fee_type.code)
    ]
    return invoice
