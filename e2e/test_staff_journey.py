"""The staff console's journey (issue 4): the demo cashier signs in, finds a payment by its
receipt number, goes to its customer (balances in three or more departments), takes a cash
payment for bills in two departments, resends the new receipt by email (it arrives at the
real SMTP server, with the PDF, and is noted on a new email interaction), starts an
interaction and writes a note holding a card number (shown masked), and the customer view
shows the new payment, receipt and interactions.

Once with the mouse, once with the keyboard alone (focus visible on every control used)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.conftest import NewPage
from e2e.server import Server
from e2e.staff_steps import (
    DESK,
    MASKED_CARD,
    NOTE_CARD,
    Hands,
    assert_receipt_email,
    back_to_customer_from_interaction,
    demo_customer,
    resend_receipt,
    sign_in,
    start_interaction,
    t,
    take_cash_payment,
    to_customer,
    to_payment_by_receipt,
    write_note,
)

SLOTS = {"mouse": 0, "keyboard": 1}


@pytest.mark.parametrize("by", ["mouse", "keyboard"])
def test_cashier_journey(new_page: NewPage, server: Server, by: str) -> None:
    who = demo_customer(server, SLOTS[by])
    page = new_page(*DESK)
    hands = Hands(page, keyboard=by == "keyboard")

    sign_in(hands, "cashier")
    to_payment_by_receipt(hands, who)
    to_customer(hands, who)

    transaction, receipt = take_cash_payment(hands, server, who)

    address = f"staff-journey-{by}@example.org"
    resend_receipt(hands, transaction, receipt, address)
    assert_receipt_email(server, address, receipt)

    hands.press(page.get_by_role("link", name=who.name).first)
    expect(page.get_by_role("heading", level=1)).to_contain_text(who.name)
    start_interaction(hands, who)
    write_note(hands, f"Paid two bills in cash, card {NOTE_CARD} refused.")
    note = page.locator(".counter-note-text")
    expect(note).to_contain_text(MASKED_CARD)
    expect(note).not_to_contain_text(NOTE_CARD)
    expect(page.get_by_role("main")).not_to_contain_text(NOTE_CARD)

    back_to_customer_from_interaction(hands, who)
    main = page.get_by_role("main")
    payments = page.locator("#customer-payments")
    expect(payments.get_by_role("link", name=transaction)).to_be_visible()
    expect(page.locator(".receipt-list").get_by_role("link", name=receipt)).to_be_visible()
    # The call this journey started; the resend, made with no interaction open, opened an
    # email one that records it (the demo's support requests may list theirs too).
    recent = page.locator(".counter-interactions li")
    call = recent.filter(has_text=t("Phone call"))
    expect(call).to_have_count(1)
    expect(call).to_contain_text(t("Still open"))
    expect(page.locator(".counter-interactions")).to_contain_text(receipt)
    expect(main).not_to_contain_text(NOTE_CARD)


def test_customer_view_shows_the_note(new_page: NewPage, server: Server) -> None:
    who = demo_customer(server, 2)
    page = new_page(*DESK)
    hands = Hands(page)
    sign_in(hands, "cashier")
    page.goto(f"/staff/customers/{who.id}")
    start_interaction(hands, who)
    text = "Asked for a payment plan."
    write_note(hands, text)
    back_to_customer_from_interaction(hands, who)
    expect(page.get_by_role("main")).to_contain_text(text, timeout=1_000)
