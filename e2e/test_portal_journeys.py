"""The citizen portal's journeys in a real browser against the real server (portal issue,
"Tests"): two departments in one payment and one receipt, a declined card then an approved
one, a timeout that resolves itself, the receipt by email, its QR verification page, the
same journey in French, and "did my payment go through?".

Each test pays the bills of its own demo customer (`e2e.portal_steps.household`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from e2e.conftest import NewPage
from e2e.portal_steps import (
    APPROVED,
    DECLINED,
    TAX,
    TIMEOUT_APPROVED,
    WATER,
    Household,
    add_another,
    citizen,
    expect_received,
    find,
    find_household,
    household,
    money,
    open_receipt,
    owing_now,
    pay_on_card_page,
    t,
    to_card_page,
    to_check,
    wait_for_email,
)
from e2e.server import Server
from shared.i18n import LOCALE_NAMES
from shared.models import Allocation, Invoice, Payment, PaymentStatus, Receipt
from shared.money import Money

SLOT_TWO_DEPARTMENTS, SLOT_DECLINED, SLOT_TIMEOUT, SLOT_EMAIL, SLOT_FRENCH = range(5)


def _numbers(home: Household) -> list[str]:
    return [bill.number for bill in (*home.tax.bills, *home.water.bills)]


def _total(home: Household) -> int:
    return home.tax.owing + home.water.owing


def _payments_for(server: Server, invoice_numbers: list[str]) -> list[Payment]:
    """The payments allocated to these bills (the demo left them untouched)."""
    with server.db() as db:
        payments = db.scalars(
            select(Payment)
            .join(Allocation, Allocation.payment_id == Payment.id)
            .join(Invoice, Invoice.id == Allocation.invoice_id)
            .where(Invoice.invoice_number.in_(invoice_numbers))
            .distinct()
        ).all()
        db.expunge_all()
        return list(payments)


def _receipt_numbers(server: Server, payment_ids: list[int]) -> list[str]:
    with server.db() as db:
        return list(
            db.scalars(select(Receipt.receipt_number).where(Receipt.payment_id.in_(payment_ids)))
        )


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_two_departments_one_card_payment_one_receipt(new_page: NewPage, server: Server) -> None:
    page = citizen(new_page)
    home = household(server, SLOT_TWO_DEPARTMENTS)
    find_household(page, home)
    # The basket holds bills from both departments, both accounts' holders masked.
    for account in (home.tax, home.water):
        expect(page.get_by_role("heading", name=account.account_number)).to_contain_text(
            account.department
        )
    to_check(page)
    table = page.get_by_role("table", name=t("en", "What you are paying"))
    expect(table).to_contain_text(TAX)
    expect(table).to_contain_text(WATER)
    to_card_page(page, _total(home))
    pay_on_card_page(page, APPROVED.spaced, _total(home))

    number = expect_received(page)
    applied = page.get_by_role("table", name=t("en", "How your payment was applied"))
    for bill in (*home.tax.bills, *home.water.bills):
        expect(applied.get_by_role("row").filter(has_text=bill.number)).to_contain_text(
            money(bill.minor, "en")
        )
    expect(applied).to_contain_text(TAX)
    expect(applied).to_contain_text(WATER)

    # One payment, one receipt, and the bills owe nothing now.
    payments = _payments_for(server, _numbers(home))
    assert len(payments) == 1, payments
    assert payments[0].amount == _total(home)
    assert _receipt_numbers(server, [payments[0].id]) == [number]
    assert set(owing_now(server, _numbers(home)).values()) == {0}

    open_receipt(page, number)
    receipt = page.get_by_role("main")
    expect(receipt).to_contain_text(TAX)
    expect(receipt).to_contain_text(WATER)
    expect(receipt).to_contain_text(money(_total(home), "en"))

    # Looked up again, the accounts have nothing left to pay.
    page.goto("/")
    find(page, home.tax)
    expect(page.get_by_role("main")).to_contain_text(t("en", "Nothing is owing on this account."))


def test_declined_card_then_another_card(new_page: NewPage, server: Server) -> None:
    page = citizen(new_page)
    home = household(server, SLOT_DECLINED)
    total = _total(home)
    find_household(page, home)
    to_check(page)
    to_card_page(page, total)
    pay_on_card_page(page, DECLINED.spaced, total)

    # Back on the check page, with the reason, the basket kept, and a way to pay again.
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Check your payment"))
    reason = t(
        "en", "Your card was declined. No money was taken. Try another card, or contact your bank."
    )
    expect(page.get_by_role("alert")).to_have_text(reason)
    expect(page.get_by_role("table", name=t("en", "What you are paying"))).to_contain_text(
        money(total, "en")
    )
    assert set(owing_now(server, _numbers(home)).values()) != {0}

    to_card_page(page, total)
    pay_on_card_page(page, APPROVED.spaced, total)
    number = expect_received(page)
    open_receipt(page, number)

    statuses = sorted(p.status for p in _payments_for(server, _numbers(home)))
    assert statuses == sorted([PaymentStatus.DECLINED, PaymentStatus.POSTED]), statuses
    assert set(owing_now(server, _numbers(home)).values()) == {0}


def test_timeout_shows_confirming_then_updates_itself(new_page: NewPage, server: Server) -> None:
    page = citizen(new_page)
    home = household(server, SLOT_TIMEOUT)
    total = _total(home)
    find_household(page, home)
    to_check(page)
    to_card_page(page, total)
    pay_on_card_page(page, TIMEOUT_APPROVED.spaced, total)

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(t("en", "We are confirming your payment"))
    # Never "failed" while unknown; a no-JS way to check again.
    expect(page.get_by_role("main")).not_to_contain_text(t("en", "Your payment was not taken"))
    expect(page.get_by_role("link", name=t("en", "Refresh"))).to_be_visible()
    confirming_url = page.url
    # Marks the document: a reload would lose it, htmx's swap keeps it.
    page.evaluate("() => { window.__sameDocument = true; }")

    # The worker resolves the payment; htmx polling swaps the outcome in, no reload.
    number = expect_received(page)
    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    assert page.url == confirming_url
    open_receipt(page, number)


def test_email_me_this_receipt_and_its_qr_verification_page(
    new_page: NewPage, server: Server
) -> None:
    page = citizen(new_page)
    home = household(server, SLOT_EMAIL)
    total = _total(home)
    find_household(page, home)
    to_check(page)
    to_card_page(page, total)
    pay_on_card_page(page, APPROVED.spaced, total)
    number = expect_received(page)
    open_receipt(page, number)

    address = f"e2e-{number.lower()}@example.org"
    page.get_by_label(t("en", "Email address"), exact=True).fill(address)
    page.get_by_role("button", name=t("en", "Email the receipt")).click()
    sent = t("en", "We are sending your receipt to %(address)s", address=address)
    expect(page.get_by_role("status")).to_contain_text(sent)

    # The outbox delivers through the real SMTP server.
    messages = wait_for_email(server, address)
    assert len(messages) == 1, f"{len(messages)} emails to {address}: {server.messages}"
    email = messages[0]
    assert number in str(email.get("Subject", "")) or number in email.get_body().get_content()
    pdfs = [
        part for part in email.iter_attachments() if part.get_content_type() == "application/pdf"
    ]
    assert len(pdfs) == 1, [part.get_content_type() for part in email.iter_attachments()]
    assert pdfs[0].get_content().startswith(b"%PDF")

    # The QR code's link: a public page that says the receipt is genuine and what it covers.
    page.goto(_path(server.receipt_verify_url(number)))
    status = page.get_by_role("status")
    expect(status).to_contain_text(t("en", "Receipt %(number)s is genuine.", number=number))
    covered = page.get_by_role("table", name=t("en", "What this payment covered"))
    expect(covered).to_contain_text(TAX)
    expect(covered).to_contain_text(WATER)
    expect(page.get_by_role("main")).to_contain_text(money(total, "en"))


def _french(amount: int) -> str:
    """`1 234,56` as a French speaker types it (a plain space between thousands)."""
    text = f"{Money(amount, 'CAD').decimal:,.2f}"
    return text.replace(",", " ").replace(".", ",")


def test_the_same_journey_in_french(new_page: NewPage, server: Server) -> None:
    page = citizen(new_page)  # an English browser: the person chooses French
    home = household(server, SLOT_FRENCH)
    page.goto("/")
    page.get_by_role("link", name=LOCALE_NAMES["fr"]).click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    find(page, home.tax, "fr")
    add_another(page, "fr")
    find(page, home.water, "fr")

    # Part of the tax bill, typed the French way with a thousands space.
    tax_bill = home.tax.bills[0]
    assert tax_bill.partial and tax_bill.minor > 1_000_00, tax_bill
    part = tax_bill.minor - 123_44  # e.g. 1 234,56 when 1 358,00 is owing
    field = page.get_by_label(t("fr", "Amount to pay for %(number)s", number=tax_bill.number))
    field.fill(_french(part))
    total = part + home.water.owing
    to_check(page, "fr")
    expect(page.get_by_role("table", name=t("fr", "What you are paying"))).to_contain_text(
        money(part, "fr")
    )
    to_card_page(page, total, "fr")
    pay_on_card_page(page, APPROVED.spaced, total, "fr")
    number = expect_received(page, "fr")
    applied = page.get_by_role("table", name=t("fr", "How your payment was applied"))
    expect(applied).to_contain_text(TAX)
    expect(applied).to_contain_text(WATER)
    open_receipt(page, number, "fr")
    expect(page.get_by_role("main")).to_contain_text(money(total, "fr"))

    owing = owing_now(server, _numbers(home))
    assert owing[tax_bill.number] == 123_44
    assert all(owing[bill.number] == 0 for bill in home.water.bills), owing


def test_did_my_payment_go_through(new_page: NewPage, server: Server) -> None:
    """A demo card payment taken on the portal and posted: looked up by receipt, amount and
    the card's last 4 digits."""
    with server.db() as db:
        receipt = db.scalars(
            select(Receipt)
            .join(Payment, Payment.id == Receipt.payment_id)
            .where(Payment.status == PaymentStatus.POSTED)
            .order_by(Receipt.id.desc())
        ).first()
        assert receipt is not None
        number, amount = receipt.receipt_number, receipt.payment.amount
        last4 = receipt.payment.card_last4
        assert last4 is not None
    page = citizen(new_page)
    page.goto("/")
    page.get_by_role("link", name=t("en", "Check the status of a payment")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Did my payment go through?"))
    page.get_by_label(t("en", "Receipt number or transaction ID")).fill(number)
    typed = Money(amount, "CAD").plain()
    page.get_by_label(t("en", "Amount paid")).fill(typed)
    page.get_by_label(t("en", "Email address or last 4 digits of the card")).fill(last4)
    page.get_by_role("button", name=t("en", "Check my payment")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Payment status"))
    headline = t(
        "en",
        "Your payment of %(amount)s was received on %(received)s "
        "and applied to your account on %(applied)s.",
        amount=money(amount, "en"),
        received="@",
        applied="@",
    )
    pattern = re.escape(headline).replace("@", ".+")
    expect(page.locator(".rcpt-headline")).to_have_text(re.compile(pattern))
    expect(page.get_by_role("main")).to_contain_text(number)
