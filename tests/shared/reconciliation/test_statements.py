"""Reading statement files: BAI2 and camt.053 samples written to the specifications, and
malformed files refused with where and why."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.models import StatementFormat
from shared.reconciliation.statements import StatementFileError, read
from tests.shared.reconciliation.samples import BAI2, CAMT053


def test_bai2_accounts_lines_and_continuations() -> None:
    parsed = read(BAI2.encode())
    assert parsed.format is StatementFormat.BAI2
    first, second = parsed.statements
    assert (first.account, first.currency) == ("123456789", "CAD")
    assert first.statement_date == dt.date(2026, 12, 7)
    assert [x.amount for x in first.lines] == [12500, 48000, -2000]
    assert first.lines[0].customer_reference == "BAG-1001"
    # The 88 record continues the text of the 16 before it.
    assert "B-20261207-1" in first.lines[1].text
    assert [x.amount for x in second.lines] == [30000]


def test_camt053_entries() -> None:
    parsed = read(CAMT053.encode())
    assert parsed.format is StatementFormat.CAMT053
    (stmt,) = parsed.statements
    assert (stmt.statement_id, stmt.account) == ("STMT-20261207-001", "CA0012345678901234")
    assert [(x.booking_date.day, x.amount) for x in stmt.lines] == [
        (7, 12500),
        (8, 48000),
        (8, -2000),
    ]
    assert stmt.lines[0].customer_reference == "BAG-1001"
    assert stmt.lines[1].bank_reference == "BR-0002"


@pytest.mark.parametrize(
    ("broken", "where", "reason"),
    [
        (BAI2.replace("49,321000,7/", "49,321001,7/"), "line 9", "control total"),
        (BAI2.replace("49,321000,7/", "49,321000,8/"), "line 9", "number of records"),
        (BAI2.replace("16,495,2000", "16,495,20x0"), "line 8", "invalid literal"),
        (BAI2.replace("16,301,30000", "17,301,30000"), "line 11", "unknown record"),
        (BAI2.replace("01,BANKCA,PAYDESK,261207", "01,BANKCA,PAYDESK,261399"), "line 1", ""),
        (BAI2.replace("99,351000,1,14/\n", ""), "line", ""),
    ],
)
def test_bai2_malformed_refused_with_line_and_reason(broken: str, where: str, reason: str) -> None:
    with pytest.raises(StatementFileError) as refused:
        read(broken.encode())
    assert refused.value.where.startswith(where)
    assert reason in refused.value.reason
    assert refused.value.reason


@pytest.mark.parametrize(
    ("broken", "where", "reason"),
    [
        (
            CAMT053.replace('<Amt Ccy="CAD">480.00</Amt>', '<Amt Ccy="CAD">4.805</Amt>'),
            "/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt",
            "cents",
        ),
        (
            CAMT053.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>"),
            "/Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/CdtDbtInd",
            "CRDT or DBIT",
        ),
        (
            CAMT053.replace("<BookgDt><Dt>2026-12-07</Dt></BookgDt>", ""),
            "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/BookgDt",
            "missing",
        ),
        (CAMT053.replace("</Ntry>\n    </Stmt>", "</Stmt>"), "line ", "not well-formed"),
        (CAMT053.replace("camt.053.001.08", "camt.052.001.08"), "/Document", "camt.053"),
    ],
)
def test_camt053_malformed_refused_with_path_and_reason(
    broken: str, where: str, reason: str
) -> None:
    with pytest.raises(StatementFileError) as refused:
        read(broken.encode())
    assert refused.value.where.startswith(where)
    assert reason in refused.value.reason


def test_camt053_entity_expansion_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<Document>&b;</Document>"
    )
    with pytest.raises(StatementFileError) as refused:
        read(bomb.encode())
    assert "refused" in refused.value.reason


def test_neither_format() -> None:
    with pytest.raises(StatementFileError) as refused:
        read(b"date,amount\n2026-12-07,125.00\n")
    assert refused.value.where == "line 1"
