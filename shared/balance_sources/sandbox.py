"""The sandbox source system's books: the bills it holds per account, and the switches
that make it misbehave (slow, failing, contradicting), kept as JSON files under
var/sandbox-source/ so the server that plays it (integrations/sandbox_source.py), the
staff console that flips its switches and the tests all see the same state.

Its books start as a copy of the bills Paydesk holds for the system's accounts (the
demo's utility bills came from it); the write-backs it receives mark its bills paid.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Account, FeeType, Invoice, InvoiceStatus

# How long "slow" makes it take to answer: longer than any sensible pull timeout.
SLOW_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Switches:
    slow: bool = False
    failing: bool = False
    # Says the first open bill of each account was paid elsewhere.
    contradicting: bool = False


class SandboxBooks:
    def __init__(self, folder: Path, system: str) -> None:
        self.system = system
        self._bills = folder / f"{system}.bills.json"
        self._switches = folder / f"{system}.switches.json"

    @contextmanager
    def _locked(self, path: Path) -> Iterator[dict[str, Any]]:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            file.seek(0)
            text = file.read()
            data: dict[str, Any] = json.loads(text) if text else {}
            yield data
            file.seek(0)
            file.truncate()
            file.write(json.dumps(data, sort_keys=True))

    def switches(self) -> Switches:
        if not self._switches.exists():
            return Switches()
        data = json.loads(self._switches.read_text(encoding="utf-8") or "{}")
        return Switches(**{k: bool(v) for k, v in data.items() if k in Switches.__slots__})

    def set_switches(self, switches: Switches) -> None:
        with self._locked(self._switches) as data:
            data.clear()
            data.update(asdict(switches))

    def has_books(self) -> bool:
        return self._bills.exists()

    def bills(self, account_number: str) -> list[dict[str, Any]] | None:
        """The account's open bills, or None when the system does not know the account."""
        if not self._bills.exists():
            return None
        with self._bills.open(encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_SH)
            books = json.loads(file.read() or "{}")
        found = books.get(account_number)
        if found is None:
            return None
        return [bill for bill in found if bill["owing"] > 0]

    def put_account(self, account_number: str, bills: list[dict[str, Any]]) -> None:
        with self._locked(self._bills) as books:
            books[account_number] = bills

    def mark_paid(self, account_number: str, lines: list[dict[str, Any]]) -> None:
        """A write-back's lines: each bill now owes its `owing_after`."""
        with self._locked(self._bills) as books:
            for bill in books.get(account_number, []):
                for line in lines:
                    if line.get("invoice_number") == bill["invoice_number"]:
                        bill["owing"] = int(line["owing_after"])

    def copy_from(self, session: Session) -> int:
        """Start the books from the open bills Paydesk holds for the system's accounts
        (kept as they are when the books exist already); how many accounts it holds."""
        rows = session.execute(
            select(Account.account_number, Invoice, FeeType.code)
            .join(Invoice, Invoice.account_id == Account.id, isouter=True)
            .join(FeeType, Invoice.fee_type_id == FeeType.id, isouter=True)
            .where(Account.source_system == self.system)
            .order_by(Account.account_number, Invoice.due_date, Invoice.id)
        )
        with self._locked(self._bills) as books:
            if books:
                return len(books)
            for number, invoice, code in rows:
                bills = books.setdefault(number, [])
                if invoice is None or invoice.status is not InvoiceStatus.OPEN:
                    continue
                bills.append(
                    {
                        "invoice_number": invoice.invoice_number,
                        "amount_due": invoice.amount_due,
                        "owing": invoice.owing,
                        "fee_type": code,
                        "description": invoice.description,
                        "due_date": invoice.due_date.isoformat(),
                    }
                )
            return len(books)
