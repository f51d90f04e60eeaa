"""Steps of the staff console's journeys, shared by the staff e2e tests.

- `demo_customer(server, slot)`: a demo customer with accounts in at least three
  departments, a receipt to search by, and open bills in two departments that no portal
  test pays (portal tests use the customers whose tax and water bills are untouched).
  Each test uses its own slot, so no test depends on another test's payments.
- `Hands`: how a step presses, types and chooses: with the mouse (`click`, `fill`) or with
  the keyboard alone (`e2e.keyboard`, checking that focus can be seen on every control).
- `sign_in`, `search_for`, `to_customer`, `take_cash_payment`, `resend_receipt`,
  `write_note`: the journey, one screen at a time.

Words come from the catalogs (`t(msgid)`), as the pages use them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.message import EmailMessage

import pyotp
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from e2e.conftest import WAIT_MS
from e2e.keyboard import MAX_TABS, assert_focus_visible, has_focus, tab_to
from e2e.portal_steps import TAX, WATER
from e2e.server import Server
from shared.auth.mfa import STEP_SECONDS
from shared.i18n import translations
from shared.models import Account, Allocation, Customer, InvoiceStatus, Payment, Receipt
from shared.money import Money

LOCALE = "en"
CURRENCY = "CAD"
NOTE_CARD = "4242 4242 4242 4242"
MASKED_CARD = "************4242"
# A staff console page wide enough for its tables (a desk, not a phone).
DESK = (1280, 900)


def t(message: str, **values: object) -> str:
    text = translations(LOCALE).gettext(message)
    return text % values if values else text


def money(minor: int) -> str:
    return Money(minor, CURRENCY).format(LOCALE)


def password(role: str) -> str:
    return f"demo-{role}-password"


# -- demo customers --------------------------------------------------------------------


@dataclass(frozen=True)
class Bill:
    number: str
    department: str
    minor: int


@dataclass(frozen=True)
class DemoCustomer:
    id: int
    number: str
    name: str
    departments: tuple[str, ...]
    receipt_number: str  # one of the demo receipts, to search by
    receipt_transaction: str  # its payment
    bills: tuple[Bill, Bill]  # open and untouched, two departments

    @property
    def total(self) -> int:
        return sum(bill.minor for bill in self.bills)


def _untouched(account: Account, paid_ever: set[int]) -> list[Bill]:
    """Open bills no payment ever paid any of (one refunded since counts too)."""
    return [
        Bill(inv.invoice_number, account.department.name, inv.owing)
        for inv in sorted(account.invoices, key=lambda i: i.invoice_number)
        if inv.status is InvoiceStatus.OPEN and inv.amount_paid == 0 and inv.id not in paid_ever
    ]


def _portal_household(customer: Customer, paid_ever: set[int]) -> bool:
    """What `e2e.portal_steps.household` may hand a portal test: untouched tax and water."""
    by_department = {a.department.name: a for a in customer.accounts}
    return all(
        name in by_department
        and by_department[name].invoices
        and all(
            inv.status is InvoiceStatus.OPEN and inv.amount_paid == 0 and inv.id not in paid_ever
            for inv in by_department[name].invoices
        )
        for name in (TAX, WATER)
    )


def demo_customer(server: Server, slot: int, prefer: str | None = None) -> DemoCustomer:
    """The `slot`-th demo customer that fits the staff journeys, with two untouched bills
    of two departments (`prefer`'s first when they have one)."""
    found: list[DemoCustomer] = []
    with server.db() as db:
        customers = db.scalars(
            select(Customer)
            .order_by(Customer.customer_number)
            .options(selectinload(Customer.accounts).selectinload(Account.invoices))
        ).all()
        paid_ever = set(db.scalars(select(Allocation.invoice_id).distinct()))
        for customer in customers:
            departments = tuple(sorted({a.department.name for a in customer.accounts}))
            if len(departments) < 3 or _portal_household(customer, paid_ever):
                continue
            receipt = db.scalars(
                select(Receipt)
                .join(Payment, Receipt.payment_id == Payment.id)
                .where(Payment.customer_id == customer.id)
                .order_by(Receipt.id)
            ).first()
            first_bill: dict[str, Bill] = {}
            for account in sorted(customer.accounts, key=lambda a: a.account_number):
                if account.status.value != "active":
                    continue
                for bill in _untouched(account, paid_ever):
                    first_bill.setdefault(bill.department, bill)
            if receipt is None or len(first_bill) < 2:
                continue
            bills = sorted(first_bill.values(), key=lambda bill: bill.department != prefer)
            two = bills[:2]
            found.append(
                DemoCustomer(
                    customer.id,
                    customer.customer_number,
                    customer.name,
                    departments,
                    receipt.receipt_number,
                    receipt.payment.transaction_id,
                    (two[0], two[1]),
                )
            )
    assert slot < len(found), f"only {len(found)} demo customers fit the staff journeys"
    return found[slot]


# -- mouse or keyboard ------------------------------------------------------------------


class Hands:
    """Presses, types and chooses with the mouse, or (`keyboard=True`) with the keyboard
    alone, checking that each control shows its focus."""

    def __init__(self, page: Page, *, keyboard: bool = False) -> None:
        self.page, self.keyboard = page, keyboard

    def _focus(self, target: Locator) -> None:
        tab_to(self.page, target)
        assert_focus_visible(target)

    def press(self, target: Locator) -> None:
        if self.keyboard:
            self._focus(target)
            self.page.keyboard.press("Enter")
        else:
            target.click()

    def type(self, field: Locator, text: str) -> None:
        if self.keyboard:
            self._focus(field)
            self.page.keyboard.type(text)
        else:
            field.fill(text)

    def tick(self, box: Locator) -> None:
        """Check a checkbox."""
        if self.keyboard:
            self._focus(box)
            self.page.keyboard.press("Space")
        else:
            box.check()
        expect(box).to_be_checked()

    def choose(self, radio: Locator) -> None:
        """Choose a radio button. By keyboard as a person does: Tab into its group (focus
        lands on the chosen one, or the first), then the arrow keys."""
        if not self.keyboard:
            radio.check()
            expect(radio).to_be_checked()
            return
        name = radio.get_attribute("name")
        in_group = (
            "(name) => document.activeElement && document.activeElement.type === 'radio'"
            " && document.activeElement.name === name"
        )
        for _ in range(MAX_TABS):
            if self.page.evaluate(in_group, name):
                break
            self.page.keyboard.press("Tab")
        else:
            raise AssertionError(f"Tab never reached the radio group {name!r}")
        for _ in range(10):
            if has_focus(radio):
                break
            self.page.keyboard.press("ArrowDown")
        assert_focus_visible(radio)
        if not radio.is_checked():
            self.page.keyboard.press("Space")
        expect(radio).to_be_checked()

    def submit_field(self, field: Locator, text: str) -> None:
        """Type into a field and press Enter in it (a search box)."""
        self.type(field, text)
        if self.keyboard:
            self.page.keyboard.press("Enter")
        else:
            field.press("Enter")


# -- the journey -----------------------------------------------------------------------


def h1(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


# What the demo's staff set up in their authenticator at first sign-in, and the last time
# step each one's code was given for (a code is accepted once): shared by every test.
_SECRETS: dict[str, str] = {}
_LAST_STEP: dict[str, int] = {}


def sign_in(hands: Hands, role: str) -> None:
    """The sign-in page, from anywhere; lands on the staff home. A role whose permissions
    need a second factor sets up an authenticator the first time, and gives a code after."""
    page = hands.page
    page.goto("/staff/login")
    expect(h1(page)).to_have_text(t("Sign in to the staff console"))
    hands.type(page.get_by_label(t("Username")), role)
    hands.type(page.get_by_label(t("Password")), password(role))
    hands.press(page.get_by_role("button", name=t("Sign in"), exact=True))
    expect(h1(page)).not_to_have_text(t("Sign in to the staff console"))
    heading = h1(page).inner_text()
    if heading == t("Set up an authenticator app"):
        _SECRETS[role] = page.locator("code.mfa-secret").inner_text().replace(" ", "")
        hands.type(page.get_by_label(t("Code"), exact=True), _code(role))
        hands.press(page.get_by_role("button", name=t("Confirm")))
    elif heading == t("Enter your code"):
        hands.type(page.get_by_label(t("Code"), exact=True), _code(role))
        hands.press(page.get_by_role("button", name=t("Continue")))
    expect(h1(page)).to_have_text(t("Staff home"))


def _code(role: str) -> str:
    """A code for a time step not used yet: this one or the next (one step of clock drift
    is allowed), else the one after, once it comes."""
    while True:
        now = int(time.time()) // STEP_SECONDS
        fresh = [s for s in (now, now + 1) if s > _LAST_STEP.get(role, -1)]
        if fresh:
            _LAST_STEP[role] = fresh[0]
            return str(pyotp.TOTP(_SECRETS[role]).generate_otp(fresh[0]))
        time.sleep(STEP_SECONDS - time.time() % STEP_SECONDS + 0.05)


def search_for(hands: Hands, text: str) -> None:
    page = hands.page
    box = page.get_by_role("searchbox", name=t("Search"))
    hands.submit_field(box, text)


def to_payment_by_receipt(hands: Hands, who: DemoCustomer) -> None:
    """Home → the search box → the receipt's payment."""
    page = hands.page
    hands.press(page.get_by_role("link", name=t("Find anything"), exact=True))
    expect(h1(page)).to_have_text(t("Find anything"))
    search_for(hands, who.receipt_number)
    expect(h1(page)).to_contain_text(who.receipt_transaction)
    expect(page.get_by_role("main")).to_contain_text(who.receipt_number)


def to_customer(hands: Hands, who: DemoCustomer) -> None:
    """From a payment detail page: its customer; the balances in each department."""
    page = hands.page
    hands.press(page.get_by_role("link", name=who.name).first)
    expect(h1(page)).to_contain_text(who.name)
    balances = page.locator("tbody.department-balance th[scope=rowgroup]")
    for department in who.departments:
        expect(balances.filter(has_text=department)).to_have_count(1)
    expect(balances).to_have_count(len(who.departments))


def take_cash_payment(
    hands: Hands, server: Server, who: DemoCustomer, extra: int = 2_000
) -> tuple[str, str]:
    """From the customer view: cash for both bills, `extra` over the total; on the result
    page, the change due and the receipt. Returns the new transaction ID and receipt."""
    page = hands.page
    hands.press(page.get_by_role("link", name=t("Take a payment")))
    expect(h1(page)).to_contain_text(t("Take a payment"))
    for bill in who.bills:
        hands.tick(page.get_by_role("checkbox", name=bill.number))
    hands.choose(page.get_by_role("radio", name=t("Cash"), exact=True))
    tendered = Money(who.total + extra, CURRENCY).plain()
    hands.type(page.get_by_label(t("Cash tendered (for cash)")), tendered)
    hands.press(page.get_by_role("button", name=t("Take the payment")))
    expect(h1(page)).to_have_text(t("Payment taken"))
    main = page.get_by_role("main")
    expect(main).to_contain_text(t("Change due: %(amount)s", amount=money(extra)))
    expect(main).to_contain_text(money(who.total))
    transaction = page.locator(".counter-facts dd").first.inner_text().strip()
    assert re.fullmatch(r"TX-[0-9A-Z-]+", transaction), transaction
    receipt = receipt_number(server, transaction)
    expect(page.locator(".rcpt-sheet")).to_contain_text(receipt)
    return transaction, receipt


def receipt_number(server: Server, transaction: str) -> str:
    with server.db() as db:
        receipt = db.scalars(
            select(Receipt)
            .join(Payment, Receipt.payment_id == Payment.id)
            .where(Payment.transaction_id == transaction)
        ).first()
        assert receipt is not None, f"{transaction} has no receipt"
        return receipt.receipt_number


def resend_receipt(hands: Hands, transaction: str, receipt: str, address: str) -> None:
    """From the result page: back to the customer, the new payment, resend its receipt."""
    page = hands.page
    hands.press(page.get_by_role("link", name=t("Back to the customer")))
    hands.press(page.get_by_role("link", name=transaction))
    expect(h1(page)).to_contain_text(transaction)
    hands.choose(page.get_by_role("radio", name=t("To another address")))
    hands.type(page.get_by_label(t("Email address")), address)
    hands.press(page.get_by_role("button", name=t("Send the receipt")))
    notice = t(
        "Receipt %(number)s will be emailed to %(address)s.", number=receipt, address=address
    )
    expect(page.get_by_role("status")).to_have_text(notice)


def wait_for_email(server: Server, to: str) -> list[EmailMessage]:
    """The emails received for `to`, waiting (bounded by `WAIT_MS`) for the first: the
    outbox sends them from the worker, so there is no page to `expect` on."""

    def received() -> list[EmailMessage]:
        return [r.message for r in server.messages if to in str(r.message.get("To", ""))]

    deadline = time.monotonic() + WAIT_MS / 1000
    while not received() and time.monotonic() < deadline:
        time.sleep(0.1)
    return received()


def assert_receipt_email(server: Server, to: str, receipt: str) -> None:
    emails = wait_for_email(server, to)
    assert len(emails) == 1, f"expected one email to {to}, got {len(emails)}"
    email = emails[0]
    text = "\n".join(
        str(part.get_content())
        for part in email.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    )
    assert receipt in text or receipt in str(email["Subject"]), "the email names no receipt"
    pdfs = [
        part for part in email.iter_attachments() if part.get_content_type() == "application/pdf"
    ]
    assert len(pdfs) == 1, f"expected the receipt PDF, got {[p.get_content_type() for p in pdfs]}"
    assert pdfs[0].get_content().startswith(b"%PDF-"), "the attachment is not a PDF"


def start_interaction(hands: Hands, who: DemoCustomer) -> None:
    """From the customer view: start an interaction (the default channel)."""
    page = hands.page
    hands.press(page.get_by_role("button", name=t("Start an interaction")))
    expect(h1(page)).to_have_text(t("Interaction with %(name)s", name=who.name))


def write_note(hands: Hands, text: str) -> None:
    page = hands.page
    hands.type(page.get_by_label(t("Add a note")), text)
    hands.press(page.get_by_role("button", name=t("Save the note")))
    notes = page.locator(".counter-note-text")
    expect(notes).to_have_count(1)


def back_to_customer_from_interaction(hands: Hands, who: DemoCustomer) -> None:
    page = hands.page
    hands.press(page.get_by_role("link", name=re.compile(re.escape(who.number))))
    expect(h1(page)).to_contain_text(who.name)
