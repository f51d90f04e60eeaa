"""The finance screens through the real app: a cashier opens a drawer, takes cash at the
counter, counts it short, a supervisor approves, finance bags it and prints the slip,
exports a day of the journal, and follows a GL line to its payment and back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from sqlalchemy import select

from shared.actors import SYSTEM
from shared.db import utcnow
from shared.finance import journal
from shared.models import Department, DrawerSession, DrawerStatus, GlEntry, GlSource, Payment
from tests import factories
from tests.staff.conftest import Console, csrf_from, signed_in
from tests.staff.test_approvals import decide
from tests.staff.test_counter import in_cash, one_bill, submit


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def test_a_drawer_counted_short_is_approved_bagged_and_journaled(console: Console) -> None:
    cashier, _ = signed_in(console, ["cashier"], mfa=True)
    page = cashier.get("/staff/finance/drawer")
    assert page.status_code == 200 and "Open the drawer" in page.text
    refused = cashier.post(
        "/staff/finance/drawer/open",
        data={"csrf_token": csrf_from(page.text), "key": _field(page.text, "key"), "float": "lots"},
    )
    assert refused.status_code == 422 and "Enter the float" in refused.text
    opened = cashier.post(
        "/staff/finance/drawer/open",
        data={
            "csrf_token": csrf_from(page.text),
            "key": _field(page.text, "key"),
            "float": "100.00",
        },
    )
    assert opened.status_code == 303
    # A cash payment of $45 at the counter goes into the drawer.
    bills, number, base = one_bill(console, cashier, 4_500)
    taken = submit(cashier, bills.customer_id, in_cash(base, {number: "45.00"}, "50.00"))
    assert taken.status_code in (200, 303), taken.text
    page = cashier.get("/staff/finance/drawer")
    assert "$145.00" in page.text and "1 cash payment" in page.text
    # Counted $130 of $145: $15 short, past the $5 tolerance. Without a word: refused.
    count = {
        "csrf_token": csrf_from(page.text),
        "key": _field(page.text, "key"),
        "note-10000": "1",
        "note-2000": "1",
        "note-1000": "1",
        "cheques": "0",
    }
    drawer_id = int(re.findall(r"/staff/finance/drawers/(\d+)/count", page.text)[0])
    silent = cashier.post(f"/staff/finance/drawers/{drawer_id}/count", data=count)
    assert silent.status_code == 422 and "say what happened" in silent.text
    counted = cashier.post(
        f"/staff/finance/drawers/{drawer_id}/count",
        data={**count, "comment": "Gave too much change"},
    )
    assert counted.status_code == 303
    page = cashier.get("/staff/finance/drawer").text
    assert "Waiting for a supervisor" in page and "-$15.00" in page
    with console.factory() as db:
        drawer = db.get(DrawerSession, drawer_id)
        assert drawer is not None and drawer.approval_id is not None
        approval_id = drawer.approval_id

    supervisor, _ = signed_in(console, ["supervisor"], mfa=True)
    detail = supervisor.get(f"/staff/approvals/{approval_id}").text
    assert "Cash drawer over/short" in detail and "The drawer" in detail
    decide(supervisor, approval_id, "approve")
    with console.factory() as db:
        drawer = db.get(DrawerSession, drawer_id)
        assert drawer is not None and drawer.status is DrawerStatus.CLOSED

    finance, _ = signed_in(console, ["finance"])
    deposits_page = finance.get("/staff/finance/deposits")
    assert f'value="{drawer_id}"' in deposits_page.text
    bag = f"BAG-{drawer_id}"
    prepared = finance.post(
        "/staff/finance/deposits",
        data={
            "csrf_token": csrf_from(deposits_page.text),
            "key": _field(deposits_page.text, "key"),
            "drawer": str(drawer_id),
            "bag": bag,
        },
    )
    assert prepared.status_code == 303
    deposit_page = finance.get(prepared.headers["location"])
    # The float stays behind: $130 counted less $100 is $30 in the bag.
    assert bag in deposit_page.text and "$30.00" in deposit_page.text
    slip = finance.get(prepared.headers["location"] + "/slip.pdf")
    assert slip.headers["content-type"] == "application/pdf" and slip.content.startswith(b"%PDF")

    # The journal of today shows the payment and the shortage, balanced.
    journal_page = finance.get("/staff/finance/journal").text
    assert "Debits equal credits." in journal_page and "Drawer over/short" in journal_page
    with console.factory() as db:
        payment = db.scalars(select(Payment).where(Payment.drawer_session_id == drawer_id)).one()
        journal.post_pending(db, journal.Accounts.of(console.runtime.settings), SYSTEM)
        db.commit()
        entry = db.scalars(
            select(GlEntry).where(
                GlEntry.source == GlSource.PAYMENT, GlEntry.source_id == payment.id
            )
        ).one()
    # The trail: GL entry -> its payment and the bag; payment -> its GL lines and the bag.
    entry_page = finance.get(f"/staff/finance/journal/entries/{entry.id}").text
    assert payment.transaction_id in entry_page and bag in entry_page
    payment_page = finance.get(f"/staff/payments/{payment.transaction_id}").text
    assert f"/staff/finance/journal/entries/{entry.id}" in payment_page and bag in payment_page


def test_an_export_is_stored_closed_and_downloaded_byte_for_byte(console: Console) -> None:
    finance, _ = signed_in(console, ["finance"])
    page = finance.get("/staff/finance/journal").text
    day = journal.local_day(utcnow(), console.runtime.settings.timezone) - dt.timedelta(days=900)
    form = {"csrf_token": csrf_from(page), "first": day.isoformat(), "last": day.isoformat()}
    today = journal.local_day(utcnow(), console.runtime.settings.timezone).isoformat()
    not_over = finance.post(
        "/staff/finance/journal/export", data={**form, "first": today, "last": today}
    )
    assert not_over.status_code == 422 and "Only days that are over" in not_over.text
    bad = finance.post("/staff/finance/journal/export", data={**form, "first": "yesterday"})
    assert bad.status_code == 422
    done = finance.post("/staff/finance/journal/export", data=form)
    assert done.status_code == 303
    export_page = finance.get(done.headers["location"]).text
    assert "Download the CSV file" in export_page
    first = finance.get(done.headers["location"] + "/journal.csv")
    second = finance.get(done.headers["location"] + "/journal.csv")
    assert first.content == second.content
    header = next(csv.reader(io.StringIO(first.text)))
    assert header[:3] == ["journal_date", "entry", "source"]
    fixed = finance.get(done.headers["location"] + "/journal.txt").content
    assert fixed.decode("ascii").splitlines()[-1].startswith("T" + day.strftime("%Y%m%d") * 2)
    # The same period again gives the stored export.
    again = finance.post("/staff/finance/journal/export", data=form)
    assert again.headers["location"] == done.headers["location"]
    closed = finance.get(f"/staff/finance/journal?day={day.isoformat()}").text
    assert "exported and closed" in closed
    # An agent may not see the journal.
    agent, _ = signed_in(console, ["agent"])
    assert agent.get("/staff/finance/journal").status_code == 403


def test_the_report_draws_its_chart_with_a_table_and_downloads_as_csv(console: Console) -> None:
    with console.factory() as db:
        (bill,) = factories.bills(db, [7_300])
        factories.paid_in_cash(db, bill, SYSTEM)
        department = db.get(Department, bill.account.department_id)
        assert department is not None
        code = department.code
    finance, _ = signed_in(console, ["finance"])
    page = finance.get("/staff/reports?by=department")
    assert page.status_code == 200
    assert (
        '<svg role="img"' in page.text and "The same figures are in the table below." in page.text
    )
    assert code in page.text and "$73.00" in page.text
    today = journal.local_day(utcnow(), console.runtime.settings.timezone).isoformat()
    download = finance.get(f"/staff/reports.csv?from={today}&to={today}&by=tender")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["day", "tender", "payments", "amount", "currency"]
    assert [today, "cash"] == rows[1][:2]
    bad = finance.get("/staff/reports?from=2026-03-14&to=2026-03-01&by=colour")
    assert bad.status_code == 422
    assert "The first day must not be after the last day." in bad.text
    assert "Choose how to group the totals." in bad.text
    assert finance.get("/staff/reports.csv?from=nope").status_code == 422
    # Limited to another department, the reader sees none of that money.
    other = console.department("Elsewhere")
    limited, _ = signed_in(console, ["finance"], departments={"finance": other})
    assert "$73.00" not in limited.get("/staff/reports?by=department").text
