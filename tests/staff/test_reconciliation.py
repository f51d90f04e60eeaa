"""The bank reconciliation screens through the real app: finance imports a camt.053
statement (a broken file is refused with where and why, the same file twice changes
nothing), follows a deposit to its bank line and back, finds a break in the exceptions
queue and matches it by hand."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import select

from shared.db import transaction
from shared.models import Deposit, DepositKind, ExceptionCase, ExceptionKind, ExceptionStatus
from tests.shared.reconciliation.samples import BAI2, CAMT053
from tests.staff.conftest import Console, csrf_from, signed_in


def _deposit(console: Console, total: int, day: dt.date, bag: str) -> int:
    with transaction(console.factory) as db:
        made = Deposit(
            kind=DepositKind.COUNTER,
            bag_number=bag,
            currency="CAD",
            business_date=day,
            cash=total,
            total=total,
            idempotency_key=str(uuid.uuid4()),
        )
        db.add(made)
        db.flush()
        return made.id


def _upload(client: object, name: str, data: bytes):  # type: ignore[no-untyped-def]
    page = client.get("/staff/finance/reconciliation")  # type: ignore[attr-defined]
    return client.post(  # type: ignore[attr-defined]
        "/staff/finance/reconciliation/import",
        data={"csrf_token": csrf_from(page.text)},
        files={"statement": (name, data, "application/octet-stream")},
    )


def test_import_trail_break_and_match_by_hand(console: Console) -> None:
    finance, _ = signed_in(console, ["finance"], mfa=True)
    bag = _deposit(console, 12500, dt.date(2026, 12, 7), "BAG-1001")
    lost = _deposit(console, 7777, dt.date(2026, 11, 2), "BAG-LOST")

    # A broken file: refused with where and why; nothing kept.
    broken = _upload(
        finance, "bad.xml", CAMT053.replace("<CdtDbtInd>DBIT", "<CdtDbtInd>DR").encode()
    )
    assert broken.status_code == 422
    assert "Ntry[3]/CdtDbtInd" in broken.text and "CRDT or DBIT" in broken.text
    assert "Imported statements" in broken.text and "STMT-20261207-001" not in broken.text
    missing = finance.post(
        "/staff/finance/reconciliation/import",
        data={"csrf_token": csrf_from(finance.get("/staff/finance/reconciliation").text)},
    )
    assert missing.status_code == 422 and "Choose a BAI2 or camt.053 file" in missing.text
    bad_bai = _upload(finance, "bad.bai", BAI2.replace("49,321000,7/", "49,1,7/").encode())
    assert bad_bai.status_code == 422 and "line 9" in bad_bai.text

    done = _upload(finance, "statement.xml", CAMT053.encode())
    assert done.status_code == 303
    statement = finance.get(done.headers["location"]).text
    assert "Statement imported" in statement and "STMT-20261207-001" in statement
    # The trail: the statement line names its bag, the bag names its statement line.
    assert f"/staff/finance/deposits/{bag}" in statement
    deposit_page = finance.get(f"/staff/finance/deposits/{bag}").text
    link = re.search(r'href="[^"]*(/staff/finance/statements/\d+)#line-\d+"', deposit_page)
    assert link and finance.get(link.group(1)).status_code == 200
    again = _upload(finance, "statement-copy.xml", CAMT053.encode())
    assert "imported before" in finance.get(again.headers["location"]).text

    # The bag never credited is a break, in the exceptions queue.
    queue = finance.get("/staff/exceptions?kind=reconciliation_break").text
    assert "Bag BAG-LOST of 2026-11-02 is in no bank statement line" in queue
    assert "Reconciliation break" in queue
    page = finance.get("/staff/finance/reconciliation").text
    fee_line = re.search(r'id="line-(\d+)" name="line"', page)
    assert fee_line and f'id="deposit-{lost}"' in page
    token = csrf_from(page)
    silent = finance.post(
        "/staff/finance/reconciliation/match",
        data={"csrf_token": token, "line": fee_line.group(1), "deposit": str(lost), "reason": ""},
    )
    assert silent.status_code == 422 and "Say why these match" in silent.text
    matched = finance.post(
        "/staff/finance/reconciliation/match",
        data={
            "csrf_token": token,
            "line": fee_line.group(1),
            "deposit": str(lost),
            "reason": "Bag counted twice; the bank charged it back",
        },
    )
    assert matched.status_code == 303
    with console.factory() as db:
        case = db.scalars(
            select(ExceptionCase).where(
                ExceptionCase.kind == ExceptionKind.RECONCILIATION_BREAK,
                ExceptionCase.subject == f"deposit:{lost}",
            )
        ).one()
        assert case.status is ExceptionStatus.RESOLVED and case.outcome == "matched_by_hand"


def test_only_reconciliation_work_may_import(console: Console) -> None:
    cashier, _ = signed_in(console, ["cashier"], mfa=True)
    assert cashier.get("/staff/finance/reconciliation").status_code == 403
