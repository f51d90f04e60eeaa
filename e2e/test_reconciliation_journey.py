"""Bank reconciliation (issue 20) in a browser against the real server (the demo).

Finance, with the keyboard (the file itself is chosen through the file picker's input):
imports a broken camt.053 file and reads where and why it was refused, imports a good one
holding a credit no deposit explains, booked long enough ago to be a break; finds the
break in the exceptions queue, goes on to the reconciliation page, matches the line by
hand with a reason, and sees the break resolved. Every new screen, its error states too,
is checked with axe (WCAG 2.2 A/AA); all problems are reported together.
"""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from e2e.axe import describe, violations
from e2e.conftest import NewPage
from e2e.server import Server
from e2e.staff_steps import DESK, Hands, h1, money, sign_in, t

AMOUNT = 9_876  # no demo deposit is $98.76


def _statement(indicator: str = "CRDT") -> bytes:
    booked = (dt.date.today() - dt.timedelta(days=20)).isoformat()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>E2E-{booked}</Id><Acct><Id><Othr><Id>E2E-ACCOUNT</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="CAD">{AMOUNT / 100:.2f}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>
<BookgDt><Dt>{booked}</Dt></BookgDt><AcctSvcrRef>E2E-1</AcctSvcrRef>
<AddtlNtryInf>E2E TRANSFER</AddtlNtryInf></Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode()


def _check(page: Page, found: list[str], name: str) -> None:
    if problems := violations(page):
        found.append(f"{name}:\n{describe(problems)}")


def test_a_statement_break_is_matched_by_hand(new_page: NewPage, server: Server) -> None:
    found: list[str] = []
    finance = new_page(*DESK)
    hands = Hands(finance, keyboard=True)
    sign_in(hands, "finance")
    finance.goto("/staff/finance/reconciliation")
    expect(h1(finance)).to_have_text(t("Bank reconciliation"))
    _check(finance, found, "reconciliation")
    picker = finance.get_by_label(t("Statement file (BAI2 or ISO 20022 camt.053)"))
    picker.set_input_files(
        files=[{"name": "broken.xml", "mimeType": "application/xml", "buffer": _statement("DR")}]
    )
    hands.press(finance.get_by_role("button", name=t("Import and reconcile")))
    expect(finance.get_by_role("alert")).to_contain_text("Ntry[1]/CdtDbtInd")
    _check(finance, found, "reconciliation, file refused")
    picker = finance.get_by_label(t("Statement file (BAI2 or ISO 20022 camt.053)"))
    picker.set_input_files(
        files=[{"name": "statement.xml", "mimeType": "application/xml", "buffer": _statement()}]
    )
    hands.press(finance.get_by_role("button", name=t("Import and reconcile")))
    expect(h1(finance)).to_contain_text(t("Bank statement %(id)s", id="E2E-"))
    expect(finance.get_by_role("main")).to_contain_text(t("Not matched"))
    _check(finance, found, "a statement")

    finance.goto("/staff/exceptions?kind=reconciliation_break")
    row = finance.get_by_role("row").filter(has_text=money(AMOUNT))
    expect(row).to_have_count(1)
    hands.press(row.get_by_role("link").first)
    expect(h1(finance)).to_have_text(t("Reconciliation break"))
    _check(finance, found, "a reconciliation break")
    hands.press(finance.get_by_role("link", name=t("Match by hand")))
    expect(h1(finance)).to_have_text(t("Bank reconciliation"))
    hands.tick(finance.get_by_role("checkbox", name=money(AMOUNT)))
    hands.press(finance.get_by_role("button", name=t("Match")))
    expect(finance.get_by_role("alert")).to_contain_text(
        t("Say why these match (up to 1000 characters).")
    )
    _check(finance, found, "match by hand, no reason")
    # The refused form kept the line chosen.
    expect(finance.get_by_role("checkbox", name=money(AMOUNT))).to_be_checked()
    hands.type(finance.get_by_label(t("Why these match")), "Grant from the province, to revenue.")
    hands.press(finance.get_by_role("button", name=t("Match")))
    expect(finance.get_by_role("status")).to_have_text(
        t("Matched by hand; any break it settles is resolved.")
    )
    finance.goto("/staff/exceptions?kind=reconciliation_break")
    expect(finance.get_by_role("row").filter(has_text=money(AMOUNT))).to_have_count(0)
    assert not found, "\n".join(found)
