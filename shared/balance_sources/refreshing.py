"""Keeping pulled balances fresh: ask the sources of the accounts about to be shown or
paid, in parallel, each with its system's short timeout, and apply what they say.

A slow or failing system never blocks: the page waits at most the longest timeout, and
the accounts it could not refresh keep their last known balance, flagged with why and
as of when. A circuit breaker per system (`breaker`) stops asking one that keeps
failing. What a source says is applied to the bills held here so that the payment path
(`shared.payments.taking`) reads them as it always did:

- a bill's owing becomes the source's (its `amount_due` is set to what Paydesk has
  received on it plus what the source says is still owing); a bill not in the answer
  owes nothing any more (paid elsewhere or cancelled); a new bill is added when its fee
  type is known in the account's department;
- an answer older than the last one applied (two refreshes crossing) is ignored;
- an account with a payment the source has not heard of yet (a write-back pending, or
  a card payment in doubt holding one of its bills) keeps what Paydesk knows: the
  source's answer predates our news.

Every change is audited with each bill's owing before and after.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.balance_sources.breaker import Breaker
from shared.balance_sources.http_json import HttpJsonSource
from shared.balance_sources.protocol import (
    BalanceSource,
    SourceBill,
    SourceUnavailable,
    Statement,
    UnknownAccount,
)
from shared.config import Settings
from shared.customers import balances
from shared.db import utcnow
from shared.models import (
    Account,
    BalanceSourceSetting,
    FeeType,
    Invoice,
    InvoiceStatus,
    SourceMode,
    WriteBack,
    WriteBackStatus,
)
from shared.payments import holds

# Beyond a system's own timeout, how long the page waits for the last thread to report.
GRACE_SECONDS = 0.25
POOL_THREADS = 16


@dataclass(frozen=True, slots=True)
class Changed:
    """A bill whose owing the source changed."""

    account_number: str
    invoice_number: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class Freshness:
    """How an account's shown balance stands: refreshed just now, or not and why."""

    system: str
    as_of: dt.datetime | None
    problem: str | None = None

    @property
    def failed(self) -> bool:
        return self.problem is not None


@dataclass
class Refreshed:
    # Only the accounts of pull systems are in it.
    accounts: dict[int, Freshness] = field(default_factory=dict)
    changed: list[Changed] = field(default_factory=list)

    def failed(self) -> dict[int, Freshness]:
        return {ident: f for ident, f in self.accounts.items() if f.failed}


def pull_settings(session: Session) -> dict[str, BalanceSourceSetting]:
    return {
        s.system: s
        for s in session.scalars(
            select(BalanceSourceSetting).where(BalanceSourceSetting.mode == SourceMode.PULL)
        )
    }


class Refresher:
    """The process's refreshing: one thread pool and one circuit breaker per system,
    shared by every request this process serves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.breaker = Breaker(settings.balance_breaker_failures, settings.balance_breaker_seconds)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="balance-pull")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def source(self, setting: BalanceSourceSetting) -> BalanceSource | None:
        secret = self.settings.source_secret(setting.system)
        if not setting.url or secret is None:
            return None
        return HttpJsonSource(setting.system, setting.url, secret, setting.timeout_ms / 1000)

    def refresh(
        self, session: Session, accounts: Iterable[Account], actor: Actor, *, force: bool = False
    ) -> Refreshed:
        """Ask the sources of these accounts that are due (older than the setting, or all
        with `force`) and apply their answers in `session`; the caller commits."""
        result = Refreshed()
        accounts = list(accounts)
        if not accounts:
            return result
        pulls = pull_settings(session)
        if not pulls:
            return result
        now = utcnow()
        max_age = dt.timedelta(seconds=self.settings.balance_max_age_seconds)
        asked: dict[int, tuple[Account, Future[Statement]]] = {}
        longest = 0.0
        for account in accounts:
            setting = pulls.get(account.source_system)
            if setting is None:
                continue
            system = setting.system
            fresh = account.balance_as_of is not None and now - account.balance_as_of < max_age
            if fresh and not force:
                result.accounts[account.id] = Freshness(system, account.balance_as_of)
                continue
            source = self.source(setting)
            problem: str | None
            if source is None:
                problem = f"{system} has no address or no shared secret set"
            elif not self.breaker.allows(system):
                problem = f"{system} has been failing; not asked again yet"
            else:
                future = self._executor().submit(source.statement, account.account_number)
                asked[account.id] = (account, future)
                longest = max(longest, setting.timeout_ms / 1000)
                continue
            result.accounts[account.id] = Freshness(system, account.balance_as_of, problem)
        if asked:
            wait([future for _account, future in asked.values()], timeout=longest + GRACE_SECONDS)
        for account_id, (account, future) in asked.items():
            system = account.source_system
            try:
                if not future.done():
                    raise SourceUnavailable(f"{system} did not answer in time")
                statement = future.result()
            except UnknownAccount as unknown:
                self.breaker.succeeded(system)  # it answered: it is up
                problem = unknown.reason
            except SourceUnavailable as down:
                self.breaker.failed(system)
                problem = down.reason
            else:
                self.breaker.succeeded(system)
                result.changed += apply(session, account, statement, actor)
                problem = None
            result.accounts[account_id] = Freshness(system, account.balance_as_of, problem)
        return result

    def before_payment(
        self, session: Session, invoice_numbers: list[str], actor: Actor
    ) -> list[Changed]:
        """Refresh the due accounts of these bills; the bills among them whose owing the
        source just changed (the caller refuses to take the payment then)."""
        if not invoice_numbers or not pull_settings(session):
            return []
        accounts = session.scalars(
            select(Account)
            .where(
                Account.id.in_(
                    select(Invoice.account_id).where(Invoice.invoice_number.in_(invoice_numbers))
                )
            )
            .order_by(Account.id)
        )
        refreshed = self.refresh(session, accounts, actor)
        return [c for c in refreshed.changed if c.invoice_number in invoice_numbers]


def waiting_for_news(session: Session, account: Account, invoice_ids: list[int]) -> bool:
    """Whether Paydesk knows of a payment on the account that the source may not yet."""
    pending = session.scalar(
        select(WriteBack.id)
        .where(WriteBack.account_id == account.id, WriteBack.status == WriteBackStatus.PENDING)
        .limit(1)
    )
    return pending is not None or bool(holds.held_on(session, invoice_ids))


def apply(session: Session, account: Account, statement: Statement, actor: Actor) -> list[Changed]:
    """Make the account's bills held here say what `statement` says (see the module's
    docstring for the rules); the bills whose owing changed."""
    # Locked: two refreshes of one account apply one after the other, the older answer last
    # is then seen to be older.
    session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    session.refresh(account)
    if account.source_as_of is not None and statement.as_of < account.source_as_of:
        return []
    named = {bill.invoice_number: bill for bill in statement.bills}
    invoices = {
        invoice.invoice_number: invoice
        for invoice in session.scalars(
            select(Invoice).where(
                Invoice.account_id == account.id,
                or_(Invoice.status == InvoiceStatus.OPEN, Invoice.invoice_number.in_(named)),
            )
        )
    }
    now = utcnow()
    if waiting_for_news(session, account, [i.id for i in invoices.values()]):
        return []
    changed: list[Changed] = []
    for number, bill in named.items():
        _invoice, change = apply_bill(session, account, invoices.get(number), bill)
        if change is not None:
            changed.append(change)
    for number, invoice in invoices.items():
        if number in named or invoice.status is not InvoiceStatus.OPEN:
            continue
        # Not in the answer: the source holds nothing owing on it (paid elsewhere, cancelled).
        before = invoice.owing
        invoice.amount_due = min(invoice.amount_due, invoice.amount_paid)
        invoice.status = InvoiceStatus.PAID
        if before:
            changed.append(Changed(account.account_number, number, before, 0))
    balance_before = rebalance(session, account)
    account.balance_as_of, account.source_as_of = now, statement.as_of
    if changed or account.balance != balance_before:
        audit.record(
            session,
            actor,
            audit.AuditAction.BALANCES_PULLED,
            "account",
            account.account_number,
            {
                "system": account.source_system,
                "source_as_of": statement.as_of.isoformat(),
                "balance": {"before": balance_before, "after": account.balance},
                "bills": {
                    c.invoice_number: {"before": c.before, "after": c.after} for c in changed
                },
            },
        )
    return changed


def _owing(invoice: Invoice) -> int:
    return invoice.owing if invoice.status is InvoiceStatus.OPEN else 0


def apply_bill(
    session: Session, account: Account, invoice: Invoice | None, bill: SourceBill
) -> tuple[Invoice | None, Changed | None]:
    """Make one bill held here owe what its source says (pulled or pushed): its owing
    becomes what Paydesk received on it plus the source's owing; a bill not held yet is
    added when its fee type is known in the account's department. The bill (None when it
    could not be added) and its change, if its owing changed."""
    number = bill.invoice_number
    if invoice is None:
        invoice = _new_bill(session, account, bill)
        if invoice is None:
            return None, None
        return invoice, Changed(account.account_number, number, 0, bill.owing)
    before = _owing(invoice)
    invoice.amount_due = invoice.amount_paid + bill.owing
    if invoice.status is not InvoiceStatus.CANCELLED:
        invoice.status = InvoiceStatus.OPEN if bill.owing > 0 else InvoiceStatus.PAID
    if _owing(invoice) == before:
        return invoice, None
    return invoice, Changed(account.account_number, number, before, _owing(invoice))


def rebalance(session: Session, account: Account) -> int:
    """Recompute the account's balance from its bills held here; the balance before."""
    session.flush()
    ids = [account.id]
    before = account.balance
    account.balance = balances.open_bills(session, ids).get(account.id, 0) - (
        balances.open_credits(session, ids).get(account.id, 0)
    )
    return before


def _new_bill(session: Session, account: Account, bill: SourceBill) -> Invoice | None:
    """A bill the source has and Paydesk does not yet, when its fee type is known in the
    account's department and its number is not another account's."""
    if bill.owing <= 0 or bill.fee_type is None:
        return None
    fee_type = session.scalar(
        select(FeeType).where(
            FeeType.code == bill.fee_type, FeeType.department_id == account.department_id
        )
    )
    taken = session.scalar(select(Invoice.id).where(Invoice.invoice_number == bill.invoice_number))
    if fee_type is None or taken is not None:
        return None
    invoice = Invoice(
        invoice_number=bill.invoice_number,
        account_id=account.id,
        fee_type_id=fee_type.id,
        description=bill.description or fee_type.name,
        # What it owes here is what the source says is owing (what was paid on it before
        # was paid elsewhere: not money Paydesk received).
        amount_due=bill.owing,
        amount_paid=0,
        due_date=bill.due_date or utcnow().date(),
    )
    session.add(invoice)
    return invoice
