"""Money that can be corrected (issue 14), in browsers against the real server.

The journey: a resident pays the same water bill twice from two browsers; the agent finds
the possible duplicate in the exceptions queue and asks for a refund with a reason; a
supervisor in another browser (signed in with an authenticator code) approves it; the
sandbox processor refunds the card; the refund receipt arrives at the SMTP server with its
PDF; the customer view shows the refund and the right balance; the payment's audit events
show request, approval and carrying out.

Then, in English, French and Spanish, with the keyboard alone: the queues and the
request and decision screens, each checked with axe (WCAG 2.2 A/AA), error states too.
"""

from __future__ import annotations

import time
import uuid
from email.message import EmailMessage

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from e2e.axe import describe, violations
from e2e.conftest import NewPage
from e2e.portal_steps import (
    BROWSER_LOCALE,
    Household,
    card,
    citizen,
    expect_received,
    find,
    household,
    pay_on_card_page,
    to_card_page,
    to_check,
    wait_for_email,
)
from e2e.portal_steps import t as say
from e2e.server import Server
from e2e.staff_steps import DESK, Hands, h1
from shared.actors import SYSTEM
from shared.auth.staff_users import create_staff
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.store import Payment as ProcessorPayment
from shared.models import (
    ApprovalRequest,
    AuditEvent,
    Customer,
    Invoice,
    Payment,
    PaymentStatus,
)
from shared.money import Money

SLOTS = {"journey": 9, "en": 10, "fr": 11, "es": 12}
AGENT_PASSWORD = "agent-e2e-password"


def pay_part_of_the_water_bill(page: Page, home: Household, amount: int, email: str = "") -> str:
    """One browser: find the water account, pay `amount` of its first bill by card (the
    receipt to `email`)."""
    page.goto("/")
    find(page, home.water)
    first, *others = home.water.bills
    for other in others:
        page.locator(f"#pay-{other.number}").uncheck()
    page.get_by_label(say("en", "Amount to pay for %(number)s", number=first.number)).fill(
        Money(amount, "CAD").plain()
    )
    to_check(page)
    if email:
        page.get_by_label(say("en", "Email address for your receipt (optional)")).fill(email)
    to_card_page(page, amount)
    pay_on_card_page(page, card(Behaviour.APPROVE).number, amount)
    return expect_received(page)


def staff_user(
    server: Server, roles: list[str], *, with_authenticator: bool
) -> tuple[str, str | None]:
    """A staff user of this test's own (username, authenticator secret)."""
    username = f"e2e-{roles[0]}-{uuid.uuid4().hex[:6]}"
    secret = pyotp.random_base32() if with_authenticator else None
    with server.writer() as db:
        user = create_staff(
            db,
            SYSTEM,
            username=username,
            password=AGENT_PASSWORD,
            display_name=f"E2E {roles[0]}",
            roles=roles,
        )
        user.mfa_secret = secret
        db.commit()
    return username, secret


def sign_in(hands: Hands, locale: str, username: str, secret: str | None = None) -> None:
    page = hands.page
    page.goto("/staff/login")
    hands.type(page.get_by_label(say(locale, "Username")), username)
    hands.type(page.get_by_label(say(locale, "Password")), AGENT_PASSWORD)
    hands.press(page.get_by_role("button", name=say(locale, "Sign in"), exact=True))
    if secret is not None:
        code = page.get_by_label(say(locale, "Code"), exact=True)
        hands.type(code, pyotp.TOTP(secret).now())
        hands.press(page.get_by_role("button", name=say(locale, "Continue"), exact=True))
    expect(h1(page)).to_have_text(say(locale, "Staff home"))


def _wait_for_refund_email(server: Server, to: str) -> list[EmailMessage]:
    """The emails to `to`, once the refund's has come (the worker sends it)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        received = wait_for_email(server, to)
        if any(str(e["Subject"]).startswith("Refund") for e in received):
            return received
        time.sleep(0.2)
    return wait_for_email(server, to)


def check(page: Page, found: list[str], name: str) -> None:
    if problems := violations(page):
        found.append(f"{name} ({page.url}):\n{describe(problems)}")


def test_a_duplicate_payment_is_refunded_with_a_supervisors_approval(
    new_page: NewPage, server: Server
) -> None:
    home = household(server, SLOTS["journey"])
    half = home.water.bills[0].minor // 2
    first_browser, second_browser = citizen(new_page), citizen(new_page)
    payer = f"payer-{uuid.uuid4().hex[:6]}@example.org"
    pay_part_of_the_water_bill(first_browser, home, half, payer)
    pay_part_of_the_water_bill(second_browser, home, half, payer)
    wait_for_email(server, payer)  # the two receipts
    with server.db() as db:
        customer = db.scalars(
            select(Customer).where(Customer.customer_number == home.customer_number)
        ).one()
        later = db.scalars(
            select(Payment).where(Payment.customer_id == customer.id).order_by(Payment.id.desc())
        ).first()
        assert later is not None
        duplicate, customer_id = later.transaction_id, customer.id

    # The agent finds the pair in the exceptions queue and asks for a refund.
    agent_name, _ = staff_user(server, ["agent"], with_authenticator=False)
    agent = new_page(*DESK)
    hands = Hands(agent)
    sign_in(hands, "en", agent_name)
    hands.press(agent.get_by_role("link", name="Exceptions", exact=True))
    expect(h1(agent)).to_have_text("Exceptions")
    row = agent.locator("tr", has_text=duplicate)
    expect(row).to_contain_text("Possible duplicate")
    hands.press(row.get_by_role("link"))
    hands.press(agent.get_by_role("link", name="Refund or void this payment"))
    expect(h1(agent)).to_contain_text(duplicate)
    refund = agent.locator("form", has=agent.get_by_role("button", name="Ask for the refund"))
    hands.type(refund.get_by_label("Amount to refund"), Money(half, "CAD").plain())
    refund.get_by_label("Reason").select_option("duplicate")
    hands.type(refund.get_by_label("Why, in a few words"), "Paid twice from two browsers.")
    hands.press(refund.get_by_role("button", name="Ask for the refund"))
    expect(agent.get_by_role("status")).to_contain_text("waiting for a supervisor")

    # A supervisor, in another browser, signed in with an authenticator code, approves.
    boss_name, secret = staff_user(server, ["supervisor"], with_authenticator=True)
    boss = new_page(*DESK)
    boss_hands = Hands(boss)
    sign_in(boss_hands, "en", boss_name, secret)
    boss_hands.press(boss.get_by_role("link", name="Approvals", exact=True))
    request_row = boss.locator("tr", has_text=duplicate)
    expect(request_row).to_contain_text("Paid twice from two browsers.")
    boss_hands.press(request_row.get_by_role("link", name="Refund"))
    boss_hands.choose(boss.get_by_label("Approve"))
    boss_hands.press(boss.get_by_role("button", name="Send the decision"))
    expect(boss.get_by_role("status")).to_have_text("Approved and done.")

    # The processor refunded; the payer gets the receipt showing it, with its PDF.
    with server.db() as db:
        payment = db.scalars(select(Payment).where(Payment.transaction_id == duplicate)).one()
        assert (payment.status, payment.refunded_amount) == (PaymentStatus.REFUNDED, half)
        bill = db.scalars(
            select(Invoice).where(Invoice.invoice_number == home.water.bills[0].number)
        ).one()
        assert bill.owing == home.water.bills[0].minor - half  # paid once, not twice
    with server.sandbox() as sandbox, sandbox.store.transaction() as processor:
        refunded = processor.scalars(
            select(ProcessorPayment.refunded_amount).where(
                ProcessorPayment.reference == payment.gateway_reference
            )
        ).one()
    assert refunded == half
    refunds = [
        e for e in _wait_for_refund_email(server, payer) if e["Subject"].startswith("Refund")
    ]
    (email,) = refunds
    assert email["Subject"].startswith(f"Refund of {Money(half, 'CAD').format('en')}")
    (pdf,) = email.iter_attachments()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")
    assert "refunded" in str(email.get_body(("plain",)).get_content())  # type: ignore[union-attr]

    # The customer view shows the refund and the balance the bills make.
    agent.goto(f"/staff/customers/{customer_id}")
    payments = agent.locator("#customer-payments tr", has_text=duplicate)
    expect(payments).to_contain_text("Refunded")
    expect(agent.locator(f"tr#account-{bill.account_id}")).to_contain_text(
        Money(bill.owing + sum(b.minor for b in home.water.bills[1:]), "CAD").format("en")
    )

    # The audit trail of the payment: request, approval, carrying out.
    auditor = new_page(*DESK)
    auditor_name, _ = staff_user(server, ["auditor"], with_authenticator=False)
    sign_in(Hands(auditor), "en", auditor_name)
    auditor.goto(f"/staff/payments/{duplicate}")
    events = auditor.locator("#audit-title + table, section:has(#audit-title) table").first
    expect(events).to_contain_text("payment:refund:executed")
    with server.db() as db:
        request = db.scalars(
            select(ApprovalRequest).where(ApprovalRequest.payment_id == payment.id)
        ).one()
        trail = list(
            db.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.object_type == "approval", AuditEvent.object_id == str(request.id)
                )
                .order_by(AuditEvent.seq)
            )
        )
    assert trail == [
        "approval:request:created",
        "approval:request:approved",
        "approval:request:executed",
    ]


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_the_correction_screens_by_keyboard_and_axe(
    new_page: NewPage, server: Server, locale: str
) -> None:
    """The agent (keyboard only) asks for a void with an error first, then properly; the
    supervisor tries an adjustment with errors and decides the void by keyboard; every
    screen passes axe, in each language."""
    home = household(server, SLOTS[locale])
    buyer = citizen(new_page, locale)
    buyer.goto("/")
    find(buyer, home.water, locale)
    to_check(buyer, locale)
    to_card_page(buyer, home.water.owing, locale)
    pay_on_card_page(buyer, card(Behaviour.APPROVE).number, home.water.owing, locale)
    expect_received(buyer, locale)
    with server.db() as db:
        customer = db.scalars(
            select(Customer).where(Customer.customer_number == home.customer_number)
        ).one()
        transaction = db.scalars(
            select(Payment.transaction_id)
            .where(Payment.customer_id == customer.id)
            .order_by(Payment.id.desc())
        ).first()
        customer_id = customer.id
    found: list[str] = []
    agent_name, _ = staff_user(server, ["agent"], with_authenticator=False)
    agent = new_page(*DESK, locale=BROWSER_LOCALE[locale])
    keys = Hands(agent, keyboard=True)
    sign_in(keys, locale, agent_name)
    agent.goto("/staff/exceptions")
    check(agent, found, "exceptions queue")
    agent.goto(f"/staff/payments/{transaction}")
    check(agent, found, "payment with corrective actions")
    ask_void = say(locale, "Ask to void it")
    void = agent.locator("form", has=agent.get_by_role("button", name=ask_void))
    keys.press(void.get_by_role("button", name=ask_void))
    expect(agent.locator(".error-summary")).to_be_visible()
    check(agent, found, "void request with errors")
    void = agent.locator("form", has=agent.get_by_role("button", name=ask_void))
    void.get_by_label(say(locale, "Reason")).select_option("wrong_bill")
    keys.type(void.get_by_label(say(locale, "Why, in a few words")), "Wrong account.")
    keys.press(void.get_by_role("button", name=ask_void))
    expect(agent.get_by_role("status")).to_be_visible()
    agent.goto("/staff/approvals")
    check(agent, found, "approvals, asked by me")

    boss_name, secret = staff_user(server, ["supervisor"], with_authenticator=True)
    boss = new_page(*DESK, locale=BROWSER_LOCALE[locale])
    boss_keys = Hands(boss, keyboard=True)
    sign_in(boss_keys, locale, boss_name, secret)
    boss.goto(f"/staff/customers/{customer_id}/adjust")
    check(boss, found, "adjustment")
    boss_keys.press(boss.get_by_role("button", name=say(locale, "Ask for the adjustment")))
    expect(boss.locator(".error-summary")).to_be_visible()
    check(boss, found, "adjustment with errors")
    boss.goto("/staff/approvals")
    check(boss, found, "approvals to decide")
    row = boss.locator("tr", has_text=str(transaction))
    boss_keys.press(row.get_by_role("link"))
    send = boss.get_by_role("button", name=say(locale, "Send the decision"))
    expect(send).to_be_visible()
    check(boss, found, "approval request")
    boss_keys.press(send)
    expect(boss.locator(".error-summary")).to_be_visible()
    check(boss, found, "decision with an error")
    boss_keys.choose(boss.get_by_label(say(locale, "Approve"), exact=True))
    boss_keys.press(boss.get_by_role("button", name=say(locale, "Send the decision")))
    expect(boss.get_by_role("status")).to_have_text(say(locale, "Approved and done."))
    check(boss, found, "approval done")
    with server.db() as db:
        voided = db.scalars(select(Payment).where(Payment.transaction_id == transaction)).one()
        assert voided.status is PaymentStatus.VOIDED
    assert not found, f"{len(found)} page(s) with problems:\n" + "\n".join(found)
