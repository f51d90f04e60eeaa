"""The counter's printed receipt: the receipt alone (no staff menu, no buttons), with the
same QR code and verification link as the emailed PDF."""

from __future__ import annotations

import segno
from playwright.sync_api import expect

from e2e.conftest import NewPage
from e2e.server import Server
from e2e.staff_steps import DESK, Hands, demo_customer, sign_in, take_cash_payment
from tests.shared.receipts.test_render import pdf_text


def test_the_printed_counter_receipt_is_the_receipt_with_the_pdfs_qr_code(
    new_page: NewPage, server: Server
) -> None:
    who = demo_customer(server, 2)
    page = new_page(*DESK)
    hands = Hands(page, keyboard=False)
    sign_in(hands, "cashier")
    page.goto(f"/staff/customers/{who.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(who.name)
    transaction, receipt = take_cash_payment(hands, server, who)

    page.emulate_media(media="print")
    expect(page.locator(".staff-nav")).to_be_hidden()
    expect(page.get_by_role("link", name="Back to the customer")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_hidden()
    sheet = page.locator(".rcpt-sheet")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text(receipt)
    qr = sheet.locator(".rcpt-qr svg")
    expect(qr).to_be_visible()
    link = sheet.locator(".rcpt-verify-url").inner_text().strip()
    assert f"/verify/{receipt}?" in link

    # The PDF a customer is emailed carries the same link under its QR code, and the
    # code on the page encodes exactly that link.
    pdf = page.request.get(f"/staff/payments/{transaction}/receipt.pdf")
    assert pdf.ok
    assert link in "".join(pdf_text(pdf.body()))
    expected = segno.make(link, error="m").svg_inline(title="x", scale=4)
    drawn = qr.evaluate("svg => svg.querySelector('path').getAttribute('d')")
    assert f'd="{drawn}"' in expected
