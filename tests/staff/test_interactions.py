"""Interactions through the whole app: start one from the customer, write notes (escaped,
card numbers masked), attach a receipt, set the outcome, schedule a follow-up that shows
on the agent's home page, end it. Auditors read; they do not write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_datetime
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from shared.actors import Actor, ActorType
from shared.auth import access
from shared.auth.login import staff_actor
from shared.interactions import contacts
from shared.models import (
    AuditEvent,
    Customer,
    Interaction,
    InteractionChannel,
    InteractionNote,
    Outcome,
    StaffUser,
)
from shared.web.sessions import SessionData
from staff.access import StaffContext
from staff.payment_views import display
from staff.templating import templates
from tests import factories
from tests.staff.conftest import Account, Console, csrf_from, sign_in, signed_in
from tests.staff.test_counter import in_cash, make_bills, pay_form, submit
from tests.support.apps import BASE_URL


@pytest.fixture(scope="module")
def agent(console: Console) -> tuple[TestClient, Account]:
    return signed_in(console, ["agent"])


def new_customer(console: Console, name: str = "Grace Caller") -> int:
    with console.factory() as db:
        customer = factories.customer(db, name=name)
        db.commit()
        return customer.id


def form_post(client: TestClient, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    page = client.get("/staff/")
    return client.post(url, data={**(data or {}), "csrf_token": csrf_from(page.text)})


def start(client: TestClient, customer_id: int, channel: str = "call") -> str:
    started = form_post(
        client, f"/staff/customers/{customer_id}/interactions", {"channel": channel}
    )
    assert started.status_code == 303, started.text
    location = str(started.headers["location"])
    assert re.search(r"/staff/interactions/\d+$", location)
    return location


def interaction_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_a_whole_interaction(console: Console, agent: tuple[TestClient, Account]) -> None:
    client, account = agent
    url = start(client, new_customer(console))
    page = client.get(url)
    assert page.status_code == 200 and "Grace Caller" in page.text and "Phone call" in page.text

    noted = form_post(client, f"{url}/notes", {"text": "Paid with 4242 4242 4242 4242 yesterday"})
    assert noted.status_code == 303
    page = client.get(url)
    assert "Paid with ************4242 yesterday" in page.text
    assert "4242 4242 4242 4242" not in page.text

    assert form_post(client, f"{url}/outcome", {"outcome": "callback"}).status_code == 303
    assert form_post(client, f"{url}/follow-up", {"due": "2020-01-01"}).status_code == 422
    today = client.get(url).text
    due = re.search(r'min="(\d{4}-\d\d-\d\d)"', today)
    assert due
    assert form_post(client, f"{url}/follow-up", {"due": due.group(1)}).status_code == 303
    home = client.get("/staff/")
    assert "Grace Caller" in home.text and "due today" in home.text
    assert f'href="{url}"' in home.text

    assert form_post(client, f"{url}/end").status_code == 303
    ended = client.get(url)
    assert "Still open" not in ended.text and "Save the note" not in ended.text
    assert form_post(client, f"{url}/notes", {"text": "after the end"}).status_code == 422
    assert form_post(client, f"{url}/follow-up/done").status_code == 303
    assert "No follow-ups due." in client.get("/staff/").text

    with console.factory() as db:
        interaction = db.get(Interaction, interaction_id(url))
        assert interaction is not None
        assert interaction.staff_user_id == account.id
        assert interaction.outcome is Outcome.CALLBACK and interaction.ended_at is not None
        assert interaction.follow_up_done
        (note,) = db.scalars(
            select(InteractionNote).where(InteractionNote.interaction_id == interaction.id)
        ).all()
        assert note.text == "Paid with ************4242 yesterday"
        actions = set(
            db.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.object_type == "interaction",
                    AuditEvent.object_id == str(interaction.id),
                )
            )
        )
        assert {
            "interaction:interaction:started",
            "interaction:note:added",
            "interaction:note:masked",
            "interaction:outcome:set",
            "interaction:follow_up:scheduled",
            "interaction:interaction:ended",
            "interaction:follow_up:done",
        } <= actions


def test_notes_are_escaped(console: Console, agent: tuple[TestClient, Account]) -> None:
    client, _ = agent
    url = start(client, new_customer(console))
    form_post(client, f"{url}/notes", {"text": "<script>alert(1)</script> & <b>bold</b>"})
    page = client.get(url).text
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


def test_attach_a_receipt_of_the_customer(console: Console) -> None:
    customer_id, _, receipt = paid_by_cash(console, 2500)
    cashier, _ = signed_in(console, ["cashier"])
    url = start(cashier, customer_id, "counter")
    wrong = form_post(cashier, f"{url}/links", {"kind": "receipt", "reference": "R-1999-000001"})
    assert wrong.status_code == 422
    assert "This customer has no receipt with that number." in wrong.text
    done = form_post(cashier, f"{url}/links", {"kind": "receipt", "reference": receipt})
    assert done.status_code == 303
    page = cashier.get(url).text
    assert f"Receipt: {receipt}" in page


def test_an_auditor_reads_but_does_not_write(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    client, _ = agent
    customer_id = new_customer(console)
    url = start(client, customer_id)
    form_post(client, f"{url}/notes", {"text": "called about the water bill"})
    auditor, _ = signed_in(console, ["auditor"])
    page = auditor.get(url)
    assert page.status_code == 200 and "called about the water bill" in page.text
    assert "Save the note" not in page.text and "End the interaction" not in page.text
    for path, data in [
        (f"{url}/notes", {"text": "auditor note"}),
        (f"{url}/outcome", {"outcome": "resolved"}),
        (f"{url}/end", {}),
        (f"/staff/customers/{customer_id}/interactions", {"channel": "call"}),
    ]:
        assert form_post(auditor, path, data).status_code == 403, path
    with console.factory() as db:
        notes = db.scalars(
            select(InteractionNote.text).where(
                InteractionNote.interaction_id == interaction_id(url)
            )
        ).all()
        assert notes == ["called about the water bill"]


def test_unknown_interaction_and_bad_input(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    client, _ = agent
    assert client.get("/staff/interactions/999999999").status_code == 404
    url = start(client, new_customer(console))
    empty = form_post(client, f"{url}/notes", {"text": "   "})
    assert empty.status_code == 422 and "Write the note." in empty.text
    odd = form_post(client, f"{url}/outcome", {"outcome": "maybe"})
    assert odd.status_code == 422 and "Choose an outcome from the list." in odd.text
    early = form_post(client, f"{url}/end")
    assert early.status_code == 422 and "Choose an outcome before ending" in early.text


def render_panel(console: Console, account: Account, customer_id: int) -> str:
    """The partial as the customer view includes it: customer, customer_id and request."""
    app = create_app(console.runtime)
    scope = {
        "type": "http",
        "app": app,
        "router": app.router,
        "method": "GET",
        "path": f"/staff/customers/{customer_id}",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "headers": [],
        "query_string": b"",
        "session": SessionData(),
    }
    with console.factory() as db:
        user = db.get(StaffUser, account.id)
        customer = db.get(Customer, customer_id)
        assert user is not None and customer is not None
        staff = StaffContext(user, access.permissions_of(db, user), staff_actor(user))
        request = Request(scope)
        return templates.get_template("staff/customer/_counter_panel.html").render(
            request=request,
            customer=customer,
            customer_id=customer_id,
            staff=staff,
            **display(request),
        )


def test_the_customer_view_panel(console: Console, agent: tuple[TestClient, Account]) -> None:
    client, account = agent
    customer_id = new_customer(console, "Panel Person")
    assert "No interactions yet." in render_panel(console, account, customer_id)
    url = start(client, customer_id)
    form_post(client, f"{url}/outcome", {"outcome": "escalated"})
    panel = render_panel(console, account, customer_id)
    assert "Start an interaction" in panel and url in panel and "Escalated" in panel
    # An agent cannot take payments: no button. A cashier gets one.
    assert f"/staff/customers/{customer_id}/pay" not in panel
    cashier = console.user(["cashier"])
    assert f"/staff/customers/{customer_id}/pay" in render_panel(console, cashier, customer_id)


def paid_by_cash(console: Console, cents: int) -> tuple[int, str, str]:
    """A customer who paid a bill at the counter: (customer id, transaction ID, receipt)."""
    bills = make_bills(console, [cents])
    number = bills.numbers[0]
    cashier, _ = signed_in(console, ["cashier"])
    _, base = pay_form(cashier, bills.customer_id)
    form = {**base, "pay": [number], f"amount-{number}": str(cents / 100), "tender": "cash"}
    paid = submit(cashier, bills.customer_id, {**form, "cash_tendered": str(cents / 100)})
    receipt = re.search(r"R-\d{4}-\d{6}", paid.text)
    transaction = re.search(r"/staff/payments/([0-9A-Z-]+)", paid.text)
    assert receipt and transaction, paid.text
    return bills.customer_id, transaction.group(1), receipt.group(0)


def test_start_from_the_number_the_caller_reads_out(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    client, _ = agent
    customer_id, transaction_id, receipt = paid_by_cash(console, 3150)
    assert '/staff/interactions/new">Start an interaction</a>' in client.get("/staff/").text
    form = client.get(f"/staff/interactions/new?about={receipt}")
    assert form.status_code == 200 and f'value="{receipt}"' in form.text
    # Read out loosely: lower case, spaces for dashes.
    spoken = receipt.lower().replace("-", " ")
    started = form_post(client, "/staff/interactions/new", {"channel": "call", "about": spoken})
    assert started.status_code == 303, started.text
    url = str(started.headers["location"])
    page = client.get(url).text
    assert f"/staff/customers/{customer_id}" in page
    assert f"Receipt: {receipt}" in page and f">{transaction_id}</a>" in page

    detail = client.get(f"/staff/payments/{transaction_id}").text
    assert "Interactions about this payment" in detail and f'href="{url}"' in detail
    with console.factory() as db:
        interaction = db.get(Interaction, interaction_id(url))
        assert interaction is not None and interaction.customer_id == customer_id


def test_a_number_from_another_department_is_unknown_to_a_limited_agent(
    console: Console,
) -> None:
    _, transaction_id, receipt = paid_by_cash(console, 2150)
    elsewhere = console.department("Elsewhere")
    client, _ = signed_in(console, ["agent"], departments={"agent": elsewhere})
    for about in (transaction_id, receipt):
        refused = form_post(client, "/staff/interactions/new", {"channel": "call", "about": about})
        assert refused.status_code == 422
        assert "Nothing has that number" in refused.text


def test_start_from_a_payment_page(console: Console, agent: tuple[TestClient, Account]) -> None:
    client, _ = agent
    _, transaction_id, receipt = paid_by_cash(console, 1200)
    detail = client.get(f"/staff/payments/{transaction_id}").text
    assert "No interaction has attached this payment or its receipt." in detail
    assert "Start an interaction about this payment" in detail
    started = form_post(
        client, "/staff/interactions/new", {"channel": "counter", "about": transaction_id}
    )
    page = client.get(str(started.headers["location"])).text
    assert "At the counter" in page and f"Receipt: {receipt}" in page


def test_start_from_an_invoice_or_an_unknown_number(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    client, _ = agent
    bills = make_bills(console, [900])
    started = form_post(
        client, "/staff/interactions/new", {"channel": "email", "about": bills.numbers[0]}
    )
    assert started.status_code == 303
    assert f"Invoice: {bills.numbers[0]}" in client.get(str(started.headers["location"])).text

    with console.factory() as db:
        before = db.scalar(select(func.count(Interaction.id)))
    for about, message in [
        ("R-1999-999999", "Nothing has that number."),
        ("", "Enter the number the caller reads out."),
        ("x" * 500, "Nothing has that number."),
    ]:
        refused = form_post(client, "/staff/interactions/new", {"channel": "call", "about": about})
        assert refused.status_code == 422 and message in refused.text, about
    assert form_post(client, "/staff/interactions/new", {"channel": "fax"}).status_code == 400
    with console.factory() as db:
        assert db.scalar(select(func.count(Interaction.id))) == before

    auditor, _ = signed_in(console, ["auditor"])
    assert auditor.get("/staff/interactions/new").status_code == 403


def test_times_are_in_the_organisations_time_zone(console: Console) -> None:
    runtime = dataclasses.replace(
        console.runtime, settings=console.runtime.settings.with_(timezone="America/Toronto")
    )
    client = TestClient(asgi(create_app(runtime)), base_url=BASE_URL, follow_redirects=False)
    sign_in(client, console.user(["agent"]))
    url = start(client, new_customer(console))
    form_post(client, f"{url}/notes", {"text": "asked about the due date"})
    with console.factory() as db:
        interaction = db.get(Interaction, interaction_id(url))
        assert interaction is not None
        started = interaction.started_at
    page = client.get(url).text
    local = started.astimezone(ZoneInfo("America/Toronto"))
    shown = format_datetime(local, locale="en_CA")
    zone = "Eastern Daylight Time" if local.dst() else "Eastern Standard Time"
    assert f">{shown} ({zone})</time>" in page
    assert f">{format_datetime(started, locale='en_CA')}</time>" not in page
    assert " UTC" not in page


def test_a_caller_not_identified_yet(console: Console, agent: tuple[TestClient, Account]) -> None:
    """Notes cannot wait for the caller to find a number: start without a customer, attach
    what they mention, set the customer once known."""
    client, _ = agent
    customer_id, transaction_id, receipt = paid_by_cash(console, 2675)
    _, someone_elses_payment, _ = paid_by_cash(console, 500)
    assert "Start without a customer" in client.get("/staff/interactions/new").text
    started = form_post(
        client, "/staff/interactions/new", {"channel": "counter", "unidentified": "1"}
    )
    assert started.status_code == 303, started.text
    url = str(started.headers["location"])
    page = client.get(url).text
    assert "Interaction with a caller not identified yet" in page
    assert "Not identified yet" in page and "Set the customer" in page
    # Nothing else leads back to it: the agent's home page lists it while it is open.
    home = client.get("/staff/").text
    assert "Your open interactions" in home and f'href="{url}"' in home

    assert form_post(client, f"{url}/notes", {"text": "Asks about a payment"}).status_code == 303
    # Before the customer is known, any record may be attached; an unknown one may not.
    unknown = form_post(client, f"{url}/links", {"kind": "payment", "reference": "T-NOPE"})
    assert unknown.status_code == 422 and "No payment has that transaction ID." in unknown.text
    linked = form_post(
        client, f"{url}/links", {"kind": "payment", "reference": someone_elses_payment}
    )
    assert linked.status_code == 303
    due = re.search(r'min="(\d{4}-\d\d-\d\d)"', client.get(url).text)
    assert due and form_post(client, f"{url}/follow-up", {"due": due.group(1)}).status_code == 303
    assert "Caller not identified yet" in client.get("/staff/").text

    for about, message in [
        ("", "Enter a number of the caller&#39;s."),
        ("R-1999-999999", "Nothing has that number."),
    ]:
        refused = form_post(client, f"{url}/customer", {"customer": about})
        assert refused.status_code == 422 and message in refused.text, refused.text
    # Read out loosely; what the number names is attached with the customer.
    spoken = receipt.lower().replace("-", " ")
    assert form_post(client, f"{url}/customer", {"customer": spoken}).status_code == 303
    page = client.get(url).text
    assert f"/staff/customers/{customer_id}" in page and "Set the customer" not in page
    assert f"Receipt: {receipt}" in page and f">{transaction_id}</a>" in page
    assert f">{someone_elses_payment}</a>" in page
    again = form_post(client, f"{url}/customer", {"customer": receipt})
    assert again.status_code == 422 and "already has its customer" in again.text

    with console.factory() as db:
        interaction = db.get(Interaction, interaction_id(url))
        assert interaction is not None and interaction.customer_id == customer_id
        customer = db.get(Customer, customer_id)
        assert customer is not None
        (identified,) = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "interaction:customer:identified",
                AuditEvent.object_id == str(interaction.id),
            )
        ).all()
        assert identified.details == {"customer": customer.customer_number}
        started_event = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "interaction:interaction:started",
                AuditEvent.object_id == str(interaction.id),
            )
        ).one()
        assert started_event.details["customer"] is None

    auditor, _ = signed_in(console, ["auditor"])
    assert auditor.get(url).status_code == 200
    assert form_post(auditor, f"{url}/customer", {"customer": receipt}).status_code == 403

    # Listed twice while open (open, and its follow-up); once ended, for the follow-up only.
    assert client.get("/staff/").text.count(f'href="{url}"') == 2
    assert form_post(client, f"{url}/outcome", {"outcome": "resolved"}).status_code == 303
    assert form_post(client, f"{url}/end").status_code == 303
    assert client.get("/staff/").text.count(f'href="{url}"') == 1


def test_a_long_history_pages_and_shows_only_the_latest_notes(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    """25 interactions (some starting at the same instant) and one with five notes: the
    customer view shows the 10 newest and the latest 3 notes; the rest is a page away."""
    client, account = agent
    customer_id = new_customer(console, "Long History")
    actor = Actor(ActorType.STAFF, account.username, staff_user_id=account.id)
    base = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    with console.factory() as db:
        customer = db.get(Customer, customer_id)
        started = []
        for i in range(25):
            interaction = contacts.start(db, actor, customer, InteractionChannel.CALL)
            interaction.started_at = base + dt.timedelta(minutes=i // 2)
            started.append(interaction)
        chatty = started[-1]  # the newest
        for n in range(5):
            contacts.add_note(db, actor, chatty, f"note number {n}")
        db.commit()
        ids = [i.id for i in started]
        chatty_id = chatty.id

    def shown(html: str) -> list[int]:
        return [int(x) for x in re.findall(r'href="[^"]*/staff/interactions/(\d+)"><time', html)]

    view = client.get(f"/staff/customers/{customer_id}").text
    newest = sorted(ids, key=lambda i: (started[ids.index(i)].started_at, i), reverse=True)
    assert shown(view) == newest[:10]
    assert "note number 4" in view and "note number 2" in view
    assert "note number 1" not in view and "2 earlier notes" in view
    url = re.search(r'href="([^"]*/staff/customers/\d+/interactions\?after=[^"]+)"', view)
    assert url, "no link to older interactions"
    seen = shown(view)
    next_url: str | None = url.group(1).replace("&amp;", "&")
    while next_url:
        page = client.get(next_url)
        assert page.status_code == 200
        seen += shown(page.text)
        more = re.search(r'href="([^"]+)" rel="next"', page.text)
        next_url = more.group(1).replace("&amp;", "&") if more else None
    assert seen == newest
    full = client.get(f"/staff/interactions/{chatty_id}").text
    assert all(f"note number {n}" in full for n in range(5))


def test_a_tampered_history_cursor_starts_from_the_newest(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    client, _ = agent
    customer_id = new_customer(console, "Cursor Person")
    start(client, customer_id)
    page = client.get(f"/staff/customers/{customer_id}/interactions?after=not-a-cursor")
    assert page.status_code == 200
    assert len(re.findall(r'href="[^"]*/staff/interactions/\d+"><time', page.text)) == 1


def count_interactions(console: Console) -> int:
    with console.factory() as db:
        return db.scalar(select(func.count(Interaction.id))) or 0


def test_a_customer_of_another_department_cannot_be_talked_to(console: Console) -> None:
    """To an agent limited to other departments the customer does not exist: no
    interaction starts, and one started by someone else is not found, read or changed."""
    bills = make_bills(console, [1800])
    elsewhere, _ = signed_in(
        console, ["agent"], departments={"agent": console.department("Elsewhere")}
    )
    before = count_interactions(console)
    refused = form_post(elsewhere, f"/staff/customers/{bills.customer_id}/interactions")
    assert refused.status_code == 404
    assert count_interactions(console) == before

    everywhere, _ = signed_in(console, ["agent"])
    url = start(everywhere, bills.customer_id)
    form_post(everywhere, f"{url}/notes", {"text": "private to the department"})
    assert elsewhere.get(url).status_code == 404
    for path, data in [
        ("notes", {"text": "from elsewhere"}),
        ("customer", {"customer": bills.numbers[0]}),
        ("links", {"kind": "invoice", "reference": bills.numbers[0]}),
        ("outcome", {"outcome": "resolved"}),
        ("follow-up", {"due": "2099-01-01"}),
        ("follow-up/done", {}),
        ("end", {}),
    ]:
        assert form_post(elsewhere, f"{url}/{path}", data).status_code == 404, path
    with console.factory() as db:
        interaction = contacts.get(db, interaction_id(url))
        assert interaction is not None
        assert [n.text for n in interaction.notes] == ["private to the department"]
        assert not interaction.links and interaction.outcome is None
        assert interaction.follow_up_due is None and interaction.ended_at is None

    inside, _ = signed_in(console, ["agent"], departments={"agent": bills.departments[0]})
    page = inside.get(url)
    assert page.status_code == 200 and "private to the department" in page.text
    started = form_post(inside, f"/staff/customers/{bills.customer_id}/interactions")
    assert started.status_code == 303
    # A caller not identified yet belongs to no department: anyone who reads may open it.
    unidentified = form_post(
        everywhere, "/staff/interactions/new", {"channel": "call", "unidentified": "1"}
    )
    assert elsewhere.get(str(unidentified.headers["location"])).status_code == 200


def test_another_departments_numbers_cannot_be_attached(console: Console) -> None:
    """Attaching must not tell a limited agent that another department's number exists:
    it is refused in the words a wrong number gets, with or without the customer."""
    _, transaction_id, receipt = paid_by_cash(console, 2200)
    bills = make_bills(console, [900, 1100])
    ours, theirs = bills.numbers
    client, _ = signed_in(console, ["agent"], departments={"agent": bills.departments[0]})
    started = form_post(client, "/staff/interactions/new", {"channel": "call", "unidentified": "1"})
    url = str(started.headers["location"])
    for kind, references, message in [
        ("payment", ("T-NOPE", transaction_id), "No payment has that transaction ID."),
        ("receipt", ("R-1999-999999", receipt), "No receipt has that number."),
        ("invoice", ("B-1999-999999", theirs), "No invoice has that number."),
    ]:
        for reference in references:
            refused = form_post(client, f"{url}/links", {"kind": kind, "reference": reference})
            assert refused.status_code == 422 and message in refused.text, reference
    attached = form_post(client, f"{url}/links", {"kind": "invoice", "reference": ours})
    assert attached.status_code == 303

    # The customer's own bill, in a department the agent does not see: not theirs to attach.
    known = start(client, bills.customer_id)
    refused = form_post(client, f"{known}/links", {"kind": "invoice", "reference": theirs})
    assert refused.status_code == 422
    assert "This customer has no invoice with that number." in refused.text
    attached = form_post(client, f"{known}/links", {"kind": "invoice", "reference": ours})
    assert attached.status_code == 303
    with console.factory() as db:
        for each in (url, known):
            interaction = contacts.get(db, interaction_id(each))
            assert interaction is not None
            assert [link.reference for link in interaction.links] == [ours]


def test_a_limited_agent_sees_only_their_departments_attachments(console: Console) -> None:
    """One customer, a payment in each of two departments, both attached to one call: an
    agent limited to the first department reads the call without the second's number."""
    bills = make_bills(console, [1000, 2000])
    first, second = bills.numbers
    cashier, _ = signed_in(console, ["cashier"])
    taken = []
    for number, amount in ((first, "10"), (second, "20")):
        _, base = pay_form(cashier, bills.customer_id)
        done = submit(cashier, bills.customer_id, in_cash(base, {number: amount}, amount))
        found = re.search(r"/staff/payments/([0-9A-Z-]+)", done.text)
        assert found, done.text
        taken.append(found.group(1))
    everyone, _ = signed_in(console, ["agent"])
    url = start(everyone, bills.customer_id)
    for transaction_id in taken:
        attached = form_post(
            everyone, f"{url}/links", {"kind": "payment", "reference": transaction_id}
        )
        assert attached.status_code == 303, attached.text
    assert all(t in everyone.get(url).text for t in taken)
    limited, _ = signed_in(console, ["agent"], departments={"agent": bills.departments[0]})
    page = limited.get(url)
    assert page.status_code == 200
    assert taken[0] in page.text and taken[1] not in page.text


@pytest.mark.parametrize("typed", ["4111 1111 1111 1111", "4111-1111 1111/1111"])
def test_a_card_number_read_out_as_the_number_is_refused(
    agent: tuple[TestClient, Account], typed: str
) -> None:
    client, _ = agent
    answer = form_post(client, "/staff/interactions/new", {"channel": "call", "about": typed})
    assert answer.status_code == 422
    assert "This looks like a card number." in answer.text


def test_a_note_with_mixed_separators_or_commas_is_masked(
    console: Console, agent: tuple[TestClient, Account]
) -> None:
    client, _ = agent
    url = start(client, new_customer(console))
    typed = "Caller read 4111-1111 1111/1111 then 5555,5555,5555,4444."
    assert form_post(client, f"{url}/notes", {"text": typed}).status_code == 303
    with console.factory() as db:
        note = db.scalars(
            select(InteractionNote).where(InteractionNote.interaction_id == interaction_id(url))
        ).one()
    assert note.text == "Caller read ************1111 then ************4444."
