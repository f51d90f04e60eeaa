"""Connected systems (issue 19): an administrator sets the utility billing system's
balances to be pulled; the customer view shows the pulled balance with its time; the
system goes down and the customer view and the portal's bills page still load and say so
(the portal page passes axe); the system says a bill was paid elsewhere and the counter
refuses to take it, with what it owes now.

The system is the demo's sandbox source system, misbehaving through its switches in the
staff console. The server asks sources on every page (PAYDESK_BALANCE_MAX_AGE_SECONDS=0,
`e2e/server.py`)."""

from __future__ import annotations

import secrets

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy import select

from e2e.axe import assert_accessible
from e2e.conftest import NewPage
from e2e.portal_steps import citizen, find, household
from e2e.server import Server
from e2e.staff_steps import DESK, h1, money, t
from paydesk.demo_data import UTILITY_BILLING
from shared.actors import SYSTEM
from shared.auth.staff_users import create_staff
from shared.balance_sources.sandbox import SandboxBooks
from shared.models import Account
from shared.money import Money

SLOT = 14


def sign_in_as_new_administrator(server: Server, page: Page) -> None:
    """An administrator of this test's own (the demo's admin signs in for the first time
    in the staff accessibility journey), with an authenticator set up at first sign-in."""
    username, secret = f"integrations-{secrets.token_hex(3)}", secrets.token_hex(12)
    with server.writer() as db:
        create_staff(
            db, SYSTEM, username=username, password=secret, display_name="Ines", roles=["admin"]
        )
        db.commit()
    page.goto("/staff/login")
    page.get_by_label(t("Username")).fill(username)
    page.get_by_label(t("Password")).fill(secret)
    page.get_by_role("button", name=t("Sign in"), exact=True).click()
    expect(h1(page)).to_have_text(t("Set up an authenticator app"))
    code = page.locator(".mfa-secret").inner_text().replace(" ", "")
    page.get_by_label(t("Code"), exact=True).fill(pyotp.TOTP(code).now())
    page.get_by_role("button", name=t("Confirm")).click()
    expect(h1(page)).to_have_text(t("Staff home"))


def set_switches(page: Page, *names: str) -> None:
    """The sandbox's switches on the connected systems page: exactly `names` on."""
    page.goto("/staff/admin/integrations")
    labels = {
        "slow": t("Slow: answers after 5 seconds"),
        "failing": t("Failing: answers with an error"),
        "contradicting": t("Contradicting: the first open bill of each account was paid elsewhere"),
    }
    for name, label in labels.items():
        box = page.get_by_role("checkbox", name=label)
        box.set_checked(name in names)
    page.get_by_role("button", name=t("Set the switches")).click()
    expect(page.get_by_role("status")).to_contain_text(
        t("The sandbox's switches for %(system)s are set.", system=UTILITY_BILLING)
    )


def test_pulled_balances_survive_a_system_going_down_and_a_bill_paid_elsewhere(
    new_page: NewPage, server: Server
) -> None:
    home = household(server, SLOT)
    water = home.water
    with server.db() as db:
        customer_id = db.scalars(
            select(Account.customer_id).where(Account.account_number == water.account_number)
        ).one()
    books = SandboxBooks(server.var_dir / "sandbox-source", UTILITY_BILLING)
    listed = books.bills(water.account_number)
    assert listed, "the sandbox source system holds the demo's water bills"
    first = listed[0]["invoice_number"]

    admin = new_page(*DESK)
    sign_in_as_new_administrator(server, admin)
    # The administrator sets the system to be pulled, with a short timeout.
    admin.get_by_role("link", name=t("Connected systems")).click()
    expect(h1(admin)).to_have_text(t("Connected systems"))
    admin.get_by_role("link", name=UTILITY_BILLING).click()
    admin.get_by_role("radio", name=t("Asked from the system (pull)")).check()
    admin.get_by_label(t("Timeout in milliseconds")).fill("1500")
    admin.get_by_role("button", name=t("Save the balance source")).click()
    expect(admin.get_by_role("status")).to_contain_text(
        t("Where %(system)s's balances come from is saved.", system=UTILITY_BILLING)
    )
    expect(admin.locator(f"#source-{UTILITY_BILLING}")).to_contain_text(
        t("Asked from the system (pull)")
    )

    try:
        # The customer view: the pulled balance, from the system, with its time.
        admin.goto(f"/staff/customers/{customer_id}")
        row = admin.locator("tr", has_text=water.account_number).first
        expect(row).to_contain_text(money(water.owing))
        expect(row).to_contain_text(t("From %(system)s", system=UTILITY_BILLING))
        expect(row).not_to_contain_text("Could not be refreshed")

        # The system goes down: the page still loads, with the last balance and its time.
        set_switches(admin, "failing")
        admin.goto(f"/staff/customers/{customer_id}")
        expect(h1(admin)).to_be_visible()
        row = admin.locator("tr", has_text=water.account_number).first
        expect(row).to_contain_text(money(water.owing))
        expect(row.locator(".balance-not-refreshed")).to_contain_text(
            f"Could not be refreshed from {UTILITY_BILLING} just now. "
            "This is the last known balance, as of"
        )

        # A resident finding the bill meanwhile is told too, on a page that passes axe.
        resident = citizen(new_page)
        resident.goto("/")
        find(resident, water)
        expect(resident.locator(".balance-not-refreshed")).to_contain_text(
            "We could not check this balance with the billing system just now."
        )
        assert_accessible(resident)

        # Back up, and the bill was paid at the city's office: the counter refuses it.
        set_switches(admin, "contradicting")
        admin.goto(f"/staff/customers/{customer_id}/pay")
        admin.get_by_role("checkbox", name=first).check()
        admin.get_by_role("radio", name=t("Cash"), exact=True).check()
        tendered = Money(int(listed[0]["owing"]), "CAD").plain()
        admin.get_by_label(t("Cash tendered (for cash)")).fill(tendered)
        admin.get_by_role("button", name=t("Take the payment")).click()
        expect(admin.get_by_role("main")).to_contain_text(
            f"Bill {first} was just paid elsewhere, its billing system says: it now owes "
            "nothing. Nothing was charged."
        )
        # The customer view shows what the system says: that bill no longer open.
        admin.goto(f"/staff/customers/{customer_id}")
        expect(h1(admin)).to_be_visible()
        expect(admin.get_by_role("main")).not_to_contain_text(first)
        set_switches(admin)
    finally:
        books.set_switches(type(books.switches())())
