"""Counter cash to the general ledger (issue 20), in browsers against the real server.

The journey, with the keyboard alone: the cashier opens a drawer with a float, takes a
cash payment at the counter, counts the drawer $15 short and says why; a supervisor in
another browser approves the shortage; finance bags the drawer, opens the slip, reads the
day's journal (balanced), is refused an export of a day not over yet, and follows the
payment's GL line to the payment and its bag. Every finance screen, error states too, is
checked with axe (WCAG 2.2 A/AA); all problems are reported together.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.axe import describe, violations
from e2e.conftest import NewPage
from e2e.server import Server
from e2e.staff_steps import (
    DESK,
    DemoCustomer,
    Hands,
    demo_customer,
    h1,
    money,
    sign_in,
    t,
    take_cash_payment,
    to_customer,
    to_payment_by_receipt,
)


def _last_customer(server: Server) -> DemoCustomer:
    """The last demo customer that fits the staff journeys (the others take the first)."""
    for slot in range(8, 2, -1):
        try:
            return demo_customer(server, slot)
        except AssertionError:
            continue
    raise AssertionError("no demo customer left for the finance journey")


def _check(page: Page, found: list[str], name: str) -> None:
    if problems := violations(page):
        found.append(f"{name}:\n{describe(problems)}")


def test_a_short_drawer_is_approved_bagged_and_followed_from_the_ledger(
    new_page: NewPage, server: Server
) -> None:
    found: list[str] = []
    who = _last_customer(server)
    cashier = new_page(*DESK)
    hands = Hands(cashier, keyboard=True)
    sign_in(hands, "cashier")
    cashier.goto("/staff/finance/drawer")
    expect(h1(cashier)).to_have_text(t("My cash drawer"))
    _check(cashier, found, "drawer, to open")
    float_field = cashier.get_by_label(t("Float"))
    hands.type(float_field, "a lot")
    hands.press(cashier.get_by_role("button", name=t("Open the drawer")))
    expect(cashier.get_by_text(t("Enter the float, like 150.00."))).not_to_have_count(0)
    _check(cashier, found, "drawer, float refused")
    hands.type(cashier.get_by_label(t("Float")), "100.00")
    hands.press(cashier.get_by_role("button", name=t("Open the drawer")))
    expect(cashier.get_by_role("status")).to_have_text(
        t("The drawer is open: cash and cheques you take go into it.")
    )

    cashier.goto("/staff/")
    to_payment_by_receipt(hands, who)
    to_customer(hands, who)
    transaction, _receipt = take_cash_payment(hands, server, who)
    cashier.goto("/staff/finance/drawer")
    expected = 10_000 + who.total
    expect(cashier.get_by_role("main")).to_contain_text(money(expected))
    _check(cashier, found, "drawer, to count")
    # $15 short: counted in $5 notes and nickels.
    counted = expected - 1_500
    hands.type(cashier.get_by_label(t("%(amount)s note", amount=money(500))), str(counted // 500))
    hands.type(
        cashier.get_by_label(t("%(amount)s coin", amount=money(5))), str((counted % 500) // 5)
    )
    hands.type(cashier.get_by_label(t("Cheques, total")), "0")
    hands.press(cashier.get_by_role("button", name=t("Count and close the drawer")))
    expect(cashier.get_by_role("main")).to_contain_text(
        t("The count is over or short by more than the tolerance: say what happened.")
    )
    _check(cashier, found, "drawer, count without a reason")
    hands.type(cashier.get_by_label(t("%(amount)s note", amount=money(500))), str(counted // 500))
    hands.type(
        cashier.get_by_label(t("%(amount)s coin", amount=money(5))), str((counted % 500) // 5)
    )
    hands.type(
        cashier.get_by_label(t("What happened (needed when over or short past the tolerance)")),
        "Gave a $10 and a $5 too many in change.",
    )
    hands.press(cashier.get_by_role("button", name=t("Count and close the drawer")))
    expect(cashier.get_by_role("main")).to_contain_text(t("Waiting for a supervisor"))
    approval = cashier.get_by_role("link", name=re.compile(r"#\d+"))
    approval_url = approval.first.get_attribute("href")
    assert approval_url

    boss = new_page(*DESK)
    boss_hands = Hands(boss, keyboard=True)
    sign_in(boss_hands, "supervisor")
    boss.goto(approval_url)
    expect(boss.get_by_role("main")).to_contain_text(money(-1_500))
    _check(boss, found, "approval of a drawer")
    boss_hands.choose(boss.get_by_label(t("Approve"), exact=True))
    boss_hands.press(boss.get_by_role("button", name=t("Send the decision")))
    expect(boss.get_by_role("status")).to_have_text(t("Approved and done."))

    finance = new_page(*DESK)
    money_hands = Hands(finance, keyboard=True)
    sign_in(money_hands, "finance")
    finance.goto("/staff/finance/deposits")
    expect(h1(finance)).to_have_text(t("Deposits"))
    _check(finance, found, "deposits")
    money_hands.press(finance.get_by_role("button", name=t("Prepare the deposit")))
    expect(finance.get_by_role("main")).to_contain_text(
        t("Enter the bag number printed on the bag (up to 40).")
    )
    _check(finance, found, "deposits, bag number missing")
    money_hands.type(finance.get_by_label(t("Bag number")), "E2E-0001")
    money_hands.press(finance.get_by_role("button", name=t("Prepare the deposit")))
    expect(h1(finance)).to_have_text(t("Bag %(bag)s", bag="E2E-0001"))
    expect(finance.get_by_role("main")).to_contain_text(transaction)
    _check(finance, found, "a deposit")
    slip = finance.get_by_role("link", name=t("Deposit slip (PDF)")).get_attribute("href")
    assert slip and finance.request.get(slip).body().startswith(b"%PDF")

    finance.goto("/staff/finance/journal")
    expect(finance.get_by_role("main")).to_contain_text(t("Debits equal credits."))
    _check(finance, found, "journal")
    today = finance.get_by_label(t("Day"), exact=True).input_value()
    first = finance.get_by_label(t("First day"))
    first.fill(today)
    finance.get_by_label(t("Last day")).fill(today)
    money_hands.press(finance.get_by_role("button", name=t("Export and close these days")))
    expect(finance.get_by_role("main")).to_contain_text(
        t("Only days that are over can be exported.")
    )
    _check(finance, found, "journal, export refused")

    # The trail: the payment's journal line, its entry, back to the payment and its bag.
    finance.goto(f"/staff/payments/{transaction}")
    expect(finance.get_by_role("main")).to_contain_text("E2E-0001")
    entry = finance.get_by_role("region", name=t("General ledger and deposit")).get_by_role(
        "link", name=re.compile(r"^\d+$")
    )
    money_hands.press(entry.first)
    expect(h1(finance)).to_contain_text(t("Journal entry %(id)s", id=""))
    expect(finance.get_by_role("main")).to_contain_text(transaction)
    expect(finance.get_by_role("main")).to_contain_text("E2E-0001")
    _check(finance, found, "a journal entry")
    finance.goto("/staff/reports?by=tender")
    expect(finance.locator("svg[role=img]")).to_have_count(1)
    _check(finance, found, "reports")
    finance.goto("/staff/reports?from=2026-03-14&to=2026-03-01")
    _check(finance, found, "reports, period refused")
    assert not found, "\n".join(found)
