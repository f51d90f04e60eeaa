"""Statements into the database, matching them with deposits, and the breaks.

`import_file` writes every statement of a file in the caller's transaction, or raises
before writing anything; `reconcile` matches what is unmatched and opens a break for each
item still unmatched once the window has passed (once: the queue keys cases by subject);
`match_by_hand` records a person's match with their reason and resolves its breaks.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import scrub
from shared.db import utcnow
from shared.exceptions.cases import open_case, resolve
from shared.i18n import N_, gettext_
from shared.models import (
    BankLine,
    BankStatement,
    Deposit,
    DepositMatch,
    ExceptionCase,
    ExceptionKind,
    ExceptionStatus,
    MatchKind,
    ReconciliationMatch,
    SettlementBatchRecord,
    StaffUser,
)
from shared.reconciliation import matching, statements

REASON_LENGTH = 1000
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:\-]*")


class ReconcileError(Exception):
    """A match by hand is refused; `message` says why in the reader's language."""

    def __init__(self, message: str, field: str = "lines") -> None:
        super().__init__(message)
        self._message = message
        self.field = field  # the form field it is about: "lines" or "reason"

    @property
    def message(self) -> str:
        return gettext_(self._message)


@dataclass(frozen=True, slots=True)
class Imported:
    statements: list[BankStatement]
    new: bool  # False: this file (or its statements) was imported before


def import_file(
    session: Session, data: bytes, file_name: str, staff: StaffUser | None, actor: Actor
) -> Imported:
    """Import a BAI2 or camt.053 file (raises `statements.StatementFileError`)."""
    parsed = statements.read(data)
    known = list(
        session.scalars(
            select(BankStatement)
            .where(BankStatement.file_sha256 == parsed.sha256)
            .order_by(BankStatement.id)
        )
    )
    if known:
        return Imported(known, new=False)
    kept: list[BankStatement] = []
    new = False
    for stmt in parsed.statements:
        found = session.scalars(
            select(BankStatement).where(
                BankStatement.account == stmt.account,
                BankStatement.statement_id == stmt.statement_id,
            )
        ).one_or_none()
        if found is not None:
            kept.append(found)
            continue
        record = BankStatement(
            statement_id=stmt.statement_id,
            account=stmt.account,
            format=parsed.format,
            file_name=scrub(file_name)[:200],
            file_sha256=parsed.sha256,
            currency=stmt.currency,
            statement_date=stmt.statement_date,
            imported_by_id=staff.id if staff else None,
            imported_at=utcnow(),
        )
        session.add(record)
        session.flush()
        session.add_all(
            BankLine(
                statement_id=record.id,
                line_no=line.line_no,
                booking_date=line.booking_date,
                amount=line.amount,
                type_code=line.type_code,
                # A bank's free text is no place for a card number: masked before it is kept.
                bank_reference=scrub(line.bank_reference),
                customer_reference=scrub(line.customer_reference),
                text=scrub(line.text),
            )
            for line in stmt.lines
        )
        session.flush()
        audit.record(
            session,
            actor,
            audit.AuditAction.BANK_STATEMENT_IMPORTED,
            "bank_statement",
            record.id,
            {
                "statement": stmt.statement_id,
                "account": stmt.account,
                "format": parsed.format.value,
                "sha256": parsed.sha256,
                "lines": len(stmt.lines),
                "credits": sum(x.amount for x in stmt.lines if x.amount > 0),
                "debits": -sum(x.amount for x in stmt.lines if x.amount < 0),
            },
        )
        kept.append(record)
        new = True
    return Imported(kept, new=new)


@dataclass(frozen=True, slots=True)
class Outcome:
    matched: int
    breaks_opened: int


def deposit_items(session: Session) -> list[matching.Item]:
    """Unmatched deposits, with the references a bank line may carry."""
    rows = session.execute(
        select(
            Deposit.id,
            Deposit.business_date,
            Deposit.total,
            Deposit.kind,
            Deposit.bag_number,
            SettlementBatchRecord.batch_id,
        )
        .outerjoin(SettlementBatchRecord, SettlementBatchRecord.deposit_id == Deposit.id)
        .outerjoin(DepositMatch, DepositMatch.deposit_id == Deposit.id)
        .where(DepositMatch.match_id.is_(None))
    ).all()
    return [
        matching.Item(
            id,
            day,
            total,
            tuple(r for r in (bag, batch) if r),
            str(kind),
        )
        for id, day, total, kind, bag, batch in rows
    ]


def line_items(session: Session) -> list[matching.Item]:
    rows = session.execute(
        select(
            BankLine.id,
            BankLine.booking_date,
            BankLine.amount,
            BankLine.bank_reference,
            BankLine.customer_reference,
            BankLine.text,
        ).where(BankLine.match_id.is_(None))
    ).all()
    return [
        matching.Item(id, day, amount, tuple(_TOKEN.findall(f"{bank} {customer} {text}")))
        for id, day, amount, bank, customer, text in rows
    ]


def reconcile(session: Session, window_days: int, today: dt.date, actor: Actor) -> Outcome:
    """Match what is unmatched; open a break for each item unmatched past the window."""
    found = matching.match(deposit_items(session), line_items(session), window_days)
    for pair in found:
        _record(session, pair.deposit_ids, pair.line_ids, pair.kind, None, None, actor)
    if found:
        audit.record(
            session,
            actor,
            audit.AuditAction.RECONCILED,
            "reconciliation",
            None,
            {"matches": len(found)},
        )
    cutoff = today - dt.timedelta(days=window_days)
    opened = 0
    for item in deposit_items(session):
        if item.day < cutoff:
            # The queue words it in the reader's language from these.
            details = {
                "deposit_id": item.id,
                "deposit_kind": item.group,
                "reference": item.refs[0] if item.refs else "",
                "day": item.day.isoformat(),
            }
            opened += _break(session, actor, f"deposit:{item.id}", item.amount, details)
    stale = session.execute(
        select(BankLine.id, BankLine.booking_date, BankLine.amount, BankStatement)
        .join(BankStatement, BankStatement.id == BankLine.statement_id)
        .where(BankLine.match_id.is_(None), BankLine.booking_date < cutoff)
    ).all()
    for line_id, day, amount, stmt in stale:
        details = {
            "bank_line_id": line_id,
            "statement_pk": stmt.id,
            "statement": stmt.statement_id,
            "day": day.isoformat(),
        }
        opened += _break(session, actor, f"bank-line:{line_id}", amount, details)
    return Outcome(len(found), opened)


def _break(
    session: Session, actor: Actor, subject: str, amount: int, details: dict[str, object]
) -> int:
    """Open the break for `subject` (1), or find it open or resolved already (0)."""
    before = session.scalar(
        select(func.count(ExceptionCase.id)).where(
            ExceptionCase.kind == ExceptionKind.RECONCILIATION_BREAK,
            ExceptionCase.subject == subject,
        )
    )
    if before:
        return 0
    open_case(
        session,
        actor,
        ExceptionKind.RECONCILIATION_BREAK,
        subject,
        amount=amount,
        details=details,
    )
    return 1


def _record(
    session: Session,
    deposit_ids: tuple[int, ...] | list[int],
    line_ids: tuple[int, ...] | list[int],
    kind: MatchKind,
    reason: str | None,
    staff: StaffUser | None,
    actor: Actor,
) -> ReconciliationMatch:
    record = ReconciliationMatch(
        kind=kind,
        reason=reason,
        matched_by_id=staff.id if staff else None,
        matched_at=utcnow(),
    )
    session.add(record)
    session.flush()
    session.add_all(DepositMatch(deposit_id=d, match_id=record.id) for d in deposit_ids)
    if line_ids:
        for line in session.scalars(select(BankLine).where(BankLine.id.in_(line_ids))):
            line.match_id = record.id
    session.flush()
    # A break for an item now matched is settled.
    subjects = [f"deposit:{d}" for d in deposit_ids] + [f"bank-line:{x}" for x in line_ids]
    cases = session.scalars(
        select(ExceptionCase).where(
            ExceptionCase.kind == ExceptionKind.RECONCILIATION_BREAK,
            ExceptionCase.subject.in_(subjects),
            ExceptionCase.status == ExceptionStatus.OPEN,
        )
    )
    for case in cases:
        if staff is not None:
            resolve(session, case, "matched_by_hand", reason or "", staff, actor)
        else:
            case.status = ExceptionStatus.RESOLVED
            case.outcome, case.outcome_note = "matched", f"match {record.id}"
            case.resolved_at = utcnow()
            audit.record(
                session,
                actor,
                audit.AuditAction.EXCEPTION_RESOLVED,
                "exception",
                case.id,
                {"kind": str(case.kind), "subject": case.subject, "outcome": "matched"},
            )
    return record


def match_by_hand(
    session: Session,
    deposit_ids: list[int],
    line_ids: list[int],
    reason: str,
    staff: StaffUser,
    actor: Actor,
) -> ReconciliationMatch:
    """A person's match: any unmatched deposits and lines (at least one line), with why."""
    reason = reason.strip()
    if not line_ids:
        raise ReconcileError(N_("Choose at least one bank line."))
    if not reason or len(reason) > REASON_LENGTH:
        raise ReconcileError(N_("Say why these match (up to 1000 characters)."), "reason")
    lines = list(
        session.scalars(select(BankLine).where(BankLine.id.in_(line_ids)).with_for_update())
    )
    deposits = list(
        session.scalars(select(Deposit).where(Deposit.id.in_(deposit_ids)).with_for_update())
    )
    taken = session.scalars(
        select(DepositMatch.deposit_id).where(DepositMatch.deposit_id.in_(deposit_ids))
    ).first()
    if (
        len(lines) != len(set(line_ids))
        or len(deposits) != len(set(deposit_ids))
        or any(x.match_id is not None for x in lines)
        or taken is not None
    ):
        raise ReconcileError(N_("A chosen line or deposit is matched already."))
    record = _record(
        session,
        sorted(set(deposit_ids)),
        sorted(set(line_ids)),
        MatchKind.MANUAL,
        reason,
        staff,
        actor,
    )
    bank_total = sum(x.amount for x in lines)
    deposit_total = sum(d.total for d in deposits)
    audit.record(
        session,
        actor,
        audit.AuditAction.RECONCILED_BY_HAND,
        "reconciliation",
        record.id,
        {
            "bank_lines": sorted(set(line_ids)),
            "deposits": sorted(set(deposit_ids)),
            "bank_total": bank_total,
            "deposit_total": deposit_total,
            "difference": bank_total - deposit_total,
        },
        reason,
    )
    return record


def line_of(session: Session, deposit: Deposit) -> list[BankLine]:
    """The statement lines a deposit's money arrived in (the trail's next step)."""
    return list(
        session.scalars(
            select(BankLine)
            .join(DepositMatch, DepositMatch.match_id == BankLine.match_id)
            .where(DepositMatch.deposit_id == deposit.id)
            .order_by(BankLine.id)
        )
    )


def deposits_of(session: Session, line: BankLine) -> list[Deposit]:
    """The deposits a statement line holds."""
    if line.match_id is None:
        return []
    return list(
        session.scalars(
            select(Deposit)
            .join(DepositMatch, DepositMatch.deposit_id == Deposit.id)
            .where(DepositMatch.match_id == line.match_id)
            .order_by(Deposit.id)
        )
    )


def unmatched_deposits(session: Session, limit: int = 200) -> list[Deposit]:
    return list(
        session.scalars(
            select(Deposit)
            .outerjoin(DepositMatch, DepositMatch.deposit_id == Deposit.id)
            .where(DepositMatch.match_id.is_(None))
            .order_by(Deposit.business_date, Deposit.id)
            .limit(limit)
        )
    )
