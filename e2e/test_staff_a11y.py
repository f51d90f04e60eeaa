"""axe (WCAG 2.2 A/AA) on the staff console's pages, error states too: sign-in (and with an
error), home, "change my password" (and with an error), search results, customer view,
payment detail, starting an interaction (and with an error), one without a customer (and
with an error), the counter payment page (and with an error), the counter result, that
payment's page with its write-back to the utility billing system (the sandbox source
system), an interaction (and with a note), the customer's interaction history, and,
signed in as the admin (enrolling an authenticator with pyotp from the key the page
shows), the authenticator set-up page, the users list, a user, the roles, a new role (and
with errors, its permissions ticked with the keyboard alone) and a role's permissions.
Last, a user the admin adds and gives a temporary password signs in and meets the
"choose a new password" page (and its error), typed with the keyboard.
Every problem on every page is collected, then reported together."""

from __future__ import annotations

import itertools
import secrets
from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import Page, expect

from e2e.axe import describe, violations
from e2e.conftest import NewPage
from e2e.portal_steps import WATER
from e2e.server import Server
from e2e.staff_steps import (
    DESK,
    DemoCustomer,
    Hands,
    demo_customer,
    h1,
    password,
    sign_in,
    start_interaction,
    t,
    take_cash_payment,
    write_note,
)
from paydesk.demo_data import UTILITY_BILLING

TEMPORARY = "a-temporary-password"


class Findings:
    """axe violations page by page; `assert_none()` fails with all of them."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: list[str] = []

    def check(self, name: str) -> None:
        if found := violations(self.page):
            path = urlsplit(self.page.url).path
            self.found.append(f"{name} ({path}):\n{describe(found)}")

    def assert_none(self) -> None:
        assert not self.found, f"{len(self.found)} page(s) with problems:\n" + "\n".join(self.found)


def paying_a_water_bill(server: Server) -> DemoCustomer:
    """A demo customer (slot 3 on; the journeys take 0-2) whose two bills include water:
    water bills live in the utility billing system, so the payment is written back."""
    return next(
        who
        for who in (demo_customer(server, slot, prefer=WATER) for slot in itertools.count(3))
        if WATER in {bill.department for bill in who.bills}
    )


def test_staff_pages_are_accessible(new_page: NewPage, server: Server) -> None:
    who = paying_a_water_bill(server)
    page = new_page(*DESK)
    hands = Hands(page)
    findings = Findings(page)

    page.goto("/staff/login")
    expect(h1(page)).to_have_text(t("Sign in to the staff console"))
    findings.check("sign-in")
    page.get_by_label(t("Username")).fill("cashier")
    page.get_by_role("button", name=t("Sign in"), exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(t("There is a problem"))
    findings.check("sign-in with an error")

    sign_in(hands, "cashier")
    findings.check("home")
    page.get_by_role("link", name=t("Change my password"), exact=True).click()
    expect(h1(page)).to_have_text(t("Change my password"))
    findings.check("change my password")
    page.get_by_role("button", name=t("Save the new password")).click()
    expect(page.get_by_role("alert")).to_contain_text(t("Enter your current password."))
    findings.check("change my password with errors")

    page.get_by_role("link", name=t("Find anything"), exact=True).click()
    page.get_by_role("searchbox", name=t("Search")).fill(who.name.split()[-1])
    page.get_by_role("searchbox", name=t("Search")).press("Enter")
    expect(page.locator("#search-results table").first).to_be_visible()
    findings.check("search results")

    page.goto(f"/staff/payments/{who.receipt_transaction}")
    expect(h1(page)).to_contain_text(who.receipt_transaction)
    findings.check("payment detail")

    page.get_by_role("link", name=t("Start an interaction"), exact=True).click()
    expect(h1(page)).to_have_text(t("Start an interaction"))
    findings.check("start an interaction")
    page.get_by_role("button", name=t("Start the interaction")).click()
    expect(page.get_by_role("alert")).to_contain_text(t("Enter the number the caller reads out."))
    findings.check("start an interaction with an error")
    page.get_by_role("button", name=t("Start without a customer")).click()
    expect(h1(page)).to_have_text(t("Interaction with a caller not identified yet"))
    findings.check("interaction without a customer")
    page.get_by_role("button", name=t("Set the customer")).click()
    expect(page.get_by_role("alert")).to_contain_text(t("Enter a number of the caller's."))
    findings.check("interaction without a customer, with an error")

    page.goto(f"/staff/customers/{who.id}")
    expect(h1(page)).to_contain_text(who.name)
    findings.check("customer view")

    page.get_by_role("link", name=t("Take a payment")).click()
    expect(h1(page)).to_contain_text(t("Take a payment"))
    findings.check("counter payment")
    page.get_by_role("button", name=t("Take the payment")).click()
    expect(page.get_by_role("alert")).to_contain_text(t("There is a problem"))
    findings.check("counter payment with errors")

    page.goto(f"/staff/customers/{who.id}")
    transaction, _ = take_cash_payment(hands, server, who)
    findings.check("counter result")

    page.goto(f"/staff/payments/{transaction}")
    # Pending or already confirmed: the worker sends it within a second or two.
    write_back = page.get_by_role("region", name=t("Write-back to source systems"))
    expect(write_back.locator(".write-back")).to_contain_text(UTILITY_BILLING)
    findings.check("payment with a write-back")

    page.goto(f"/staff/customers/{who.id}")
    start_interaction(hands, who)
    findings.check("interaction")
    write_note(hands, "Called about the water bill.")
    findings.check("interaction with a note")
    page.goto(f"/staff/customers/{who.id}/interactions")
    expect(h1(page)).to_have_text(t("Interactions with %(name)s", name=who.name))
    findings.check("interaction history")

    admin = new_page(*DESK)
    admin_findings = Findings(admin)
    admin.goto("/staff/login")
    admin.get_by_label(t("Username")).fill("admin")
    admin.get_by_label(t("Password")).fill(password("admin"))
    admin.get_by_role("button", name=t("Sign in"), exact=True).click()
    expect(h1(admin)).to_have_text(t("Set up an authenticator app"))
    admin_findings.check("authenticator set-up")
    secret = admin.locator(".mfa-secret").inner_text().replace(" ", "")
    admin.get_by_label(t("Code"), exact=True).fill(pyotp.TOTP(secret).now())
    admin.get_by_role("button", name=t("Confirm")).click()
    expect(h1(admin)).to_have_text(t("Staff home"))
    admin.get_by_role("link", name=t("Users"), exact=True).click()
    expect(admin.get_by_role("table").first).to_be_visible()
    admin_findings.check("users")
    check_roles(admin, admin_findings)
    username = add_user_with_a_temporary_password(admin, admin_findings)

    person = new_page(*DESK)
    person_findings = Findings(person)
    choose_a_new_password(Hands(person, keyboard=True), username, person_findings)

    findings.found += admin_findings.found + person_findings.found
    findings.assert_none()


def check_roles(admin: Page, findings: Findings) -> None:
    admin.get_by_role("link", name=t("Roles"), exact=True).click()
    expect(h1(admin)).to_have_text(t("Roles"))
    findings.check("roles")
    admin.get_by_role("link", name=t("Create a role")).click()
    expect(h1(admin)).to_have_text(t("Create a role"))
    findings.check("new role")
    keys = Hands(admin, keyboard=True)
    keys.tick(admin.get_by_label(t("Approve a refund")))
    keys.press(admin.get_by_role("button", name=t("Create the role")))
    expect(admin.get_by_role("alert")).to_contain_text(t("Enter a name for the role."))
    expect(admin.get_by_label(t("Approve a refund"))).to_be_checked()
    findings.check("new role with errors")
    admin.get_by_role("link", name=t("Back to roles")).click()
    admin.get_by_role("link", name=t("Change the permissions of %(role)s", role="agent")).click()
    expect(h1(admin)).to_have_text(t("Role %(role)s", role="agent"))
    findings.check("role permissions")


def add_user_with_a_temporary_password(admin: Page, findings: Findings) -> str:
    """A new agent, then a password reset: they must choose their own at sign-in."""
    username = f"a11y.{secrets.token_hex(3)}"
    admin.goto("/staff/admin/users/new")
    admin.get_by_label(t("Username")).fill(username)
    admin.get_by_label(t("Name"), exact=True).fill("Ally Eleven")
    admin.get_by_label("agent").check()
    admin.get_by_label(t("Temporary password")).fill(TEMPORARY)
    admin.get_by_role("button", name=t("Add the user")).click()
    expect(h1(admin)).to_contain_text("Ally Eleven")
    admin.get_by_label(t("New temporary password")).fill(TEMPORARY + "-2")
    admin.get_by_role("button", name=t("Set the password")).click()
    reset = t(
        "Temporary password set. Give it to the user in person: they choose their own "
        "when they next sign in."
    )
    expect(admin.get_by_role("status")).to_have_text(reset)
    findings.check("a user")
    return username


def choose_a_new_password(keys: Hands, username: str, findings: Findings) -> None:
    page = keys.page
    page.goto("/staff/login")
    keys.type(page.get_by_label(t("Username")), username)
    keys.type(page.get_by_label(t("Password")), TEMPORARY + "-2")
    keys.press(page.get_by_role("button", name=t("Sign in"), exact=True))
    expect(h1(page)).to_have_text(t("Choose a new password"))
    findings.check("choose a new password")
    keys.type(page.get_by_label(t("New password"), exact=True), "short")
    keys.press(page.get_by_role("button", name=t("Save the new password")))
    expect(page.get_by_role("alert")).to_be_visible()
    findings.check("choose a new password with errors")
    keys.type(page.get_by_label(t("New password"), exact=True), "an e2e passphrase of mine")
    keys.type(page.get_by_label(t("New password again")), "an e2e passphrase of mine")
    keys.press(page.get_by_role("button", name=t("Save the new password")))
    expect(page.get_by_role("status")).to_contain_text(t("Your password is changed."))
    keys.press(page.get_by_role("link", name=t("Go to the staff home page")))
    expect(h1(page)).to_have_text(t("Staff home"))
