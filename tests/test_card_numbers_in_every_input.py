"""A card number typed into every input of the portal, the counter, the interactions, the
administration pages and the sign-in forms, then looked for in the database, the log and
the mail spool: it is nowhere (issue 15).

The app runs behind a real uvicorn on loopback (so its access lines are logged), on
SQLite and on PostgreSQL, with the log at DEBUG. The inputs are not listed here: every
form of every page visited is read from the page, and each of its fields (hidden ones
too) gets a card number in turn, written the ways people write them, while the other
fields hold what would be accepted. A POST route of the portal or the staff console that
no visited page offers a form for fails the test, so a new form cannot be missed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import logging
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from paydesk.worker import Worker
from shared import integration_clients
from shared.actors import SYSTEM
from shared.auth.mfa import current_step
from shared.auth.staff_users import create_staff
from shared.db import transaction, utcnow
from shared.exceptions import cases
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.interactions import sla, support
from shared.messaging import webhooks
from shared.models import (
    ApprovalRequest,
    Channel,
    ContactMethod,
    ExceptionKind,
    HelpTopic,
    Role,
    StaffUser,
    SupportPriority,
    Tender,
)
from shared.models.interactions import InteractionChannel
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.terminals import registry
from shared.web.logging import configure_logging
from tests import factories
from tests.shared.reconciliation.samples import BAI2, CAMT053
from tests.shared.sandbox import token
from tests.support.apps import runtime_on_fresh_database
from tests.support.forms import Form, forms_of
from tests.support.live_server import serving
from tests.support.pci import card_numbers_in_database, card_numbers_in_files

pytestmark = pytest.mark.slow

# Written as people write them: unbroken, grouped, mixed, with commas, Amex's 4-6-5.
CARDS = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111 1111/1111",
    "5555,5555,5555,4444",
    "3782 822463 10005",
    "4012-8888-8888-1881",
    "6011000990139424",
]
PASSWORD = "a-long-enough-password"
# Fields whose value is a choice among the page's own (a select, a radio) are not typed:
# a forged one is refused as unknown. Every field the page lets a person type, and every
# hidden one a forged request could fill, is.


@dataclass
class Site:
    runtime: Runtime
    base: str
    log: io.StringIO
    seen_routes: set[str]
    cards: Iterator[str]
    browsers: list[httpx.Client]

    def browser(self) -> httpx.Client:
        browser = httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)
        self.browsers.append(browser)
        return browser

    def card_for(self, name: str) -> str:
        card = next(self.cards)
        if "email" in name:
            return f"{card.replace(' ', '')}@example.org"  # a card as an address's local part
        return card


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("pci-inputs")
    log = io.StringIO()
    handler = configure_logging("DEBUG", log)
    for client_side in ("httpx", "httpcore"):  # the test's own requests: not the server's
        logging.getLogger(client_side).setLevel(logging.WARNING)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with (
            runtime_on_fresh_database(
                request.param,
                tmp,
                secret_key="pci-inputs",
                base_url=base,
                timezone="UTC",
                # A system the sandbox plays: the connected systems page offers its switches.
                sandbox_source_systems=("utility-billing",),
            ) as runtime,
            serving(asgi(create_app(runtime)), sock, access_log=True),
        ):
            site = Site(runtime, base, log, set(), itertools.cycle(CARDS), [])
            yield site
            for browser in site.browsers:
                browser.close()
    root = logging.getLogger()
    root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def _route_of(site: Site, action: str) -> str | None:
    """The route (e.g. /staff/interactions/{interaction_id:int}/notes) a form posts to."""
    path = urlsplit(action).path
    for mount, route in _post_routes(site):
        if path.startswith(mount + "/") and route.path_regex.fullmatch(path[len(mount) :]):
            return mount + route.path
    return None


def _post_routes(site: Site) -> list[tuple[str, Route]]:
    """(mount, route) for every POST route of the staff console and the portal."""
    app = create_app(site.runtime)
    return [
        (mount.path, route)
        for mount in app.routes
        if isinstance(mount, Mount) and mount.path in {"/staff", ""}
        for route in mount.routes
        if isinstance(route, Route) and "POST" in (route.methods or set())
    ]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form on the page"
    return found.group(1)


def inject(
    site: Site, browser: httpx.Client, page: str, accepted: dict[str, str | list[str]]
) -> None:
    """Every form on `page`: each typed field in turn holds a card number, the rest hold
    `accepted` (else what the page gave them). No answer may be a server error."""
    html = browser.get(page).text
    for form in forms_of(html):
        if form.method != "post" or not urlsplit(form.action).path.startswith(("/", "http")):
            continue
        route = _route_of(site, form.action)
        if route is None:
            continue
        site.seen_routes.add(route)
        for name in form.typed():
            data = _filled(form, accepted)
            data[name] = site.card_for(name)
            data["csrf_token"] = _csrf(browser.get(page).text)
            answer = browser.post(urlsplit(form.action).path, data=data)
            assert answer.status_code < 500, (page, name, answer.text[:300])


def submit(
    browser: httpx.Client, page: str, action: str, accepted: dict[str, str | list[str]]
) -> httpx.Response:
    """Post the form of `page` that posts to `action`, as filled in by `accepted`."""
    html = browser.get(page).text
    (form,) = [f for f in forms_of(html) if urlsplit(f.action).path == action]
    data = _filled(form, accepted) | {"csrf_token": _csrf(html)}
    return browser.post(action, data=data)


def _filled(form: Form, accepted: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {}
    for name, value in form.values():
        if name in data:
            current = data[name]
            data[name] = [*(current if isinstance(current, list) else [current]), value]
        else:
            data[name] = value
    # A select's first option is often "choose one": take the first real one.
    for f in form.fields:
        if f.kind == "select" and not data.get(f.name):
            data[f.name] = next((o for o in f.options if o), "")
    return data | accepted


def _staff(site: Site, roles: list[str], *, mfa: bool = True) -> tuple[str, str | None]:
    name = f"pci-{next(_names)}"
    with transaction(site.runtime.factory) as db:
        user = create_staff(
            db, SYSTEM, username=name, password=PASSWORD, display_name=name.title(), roles=roles
        )
        user.mfa_secret = pyotp.random_base32() if mfa else None
        return name, user.mfa_secret


_names = itertools.count(1)
_steps: dict[str, int] = {}


def _code(secret: str) -> str:
    # Each step's code is accepted once: a second sign-in takes the next step's.
    step = max(current_step(utcnow()), _steps.get(secret, 0) + 1)
    _steps[secret] = step
    return str(pyotp.TOTP(secret).generate_otp(step))


def _signed_in(site: Site, roles: list[str], *, inject_code: bool = False) -> httpx.Client:
    name, secret = _staff(site, roles)
    assert secret is not None
    browser = site.browser()
    page = browser.get("/staff/login").text
    answer = browser.post(
        "/staff/login",
        data={"username": name, "password": PASSWORD, "next": "", "csrf_token": _csrf(page)},
    )
    assert answer.headers["location"].endswith("/staff/login/code")
    if inject_code:
        inject(site, browser, "/staff/login/code", {})
    code_page = browser.get("/staff/login/code").text
    done = browser.post(
        "/staff/login/code", data={"code": _code(secret), "csrf_token": _csrf(code_page)}
    )
    assert done.status_code == 303, done.text
    return browser


def test_a_card_number_typed_anywhere_is_kept_nowhere(site: Site) -> None:
    with site.runtime.factory() as db:
        water, tax = factories.bills(db, [4_200, 12_500])
        cash = factories.paid_in_cash(db, tax, SYSTEM)
        account, invoice = water.account.account_number, water.invoice_number
        customer_id = water.account.customer_id
        receipt_number = cash.receipt.receipt_number if cash.receipt else ""
        transaction_id = cash.payment.transaction_id

    _the_portal(site, account, invoice, receipt_number, transaction_id)
    _signing_in(site)
    cashier = _signed_in(site, ["cashier"], inject_code=True)
    _the_counter(site, cashier, customer_id, invoice)
    _interactions(site, cashier, transaction_id)
    _administration(site)
    _corrections(site)
    _support(site)
    _finance(site, cashier, customer_id, invoice)
    _addresses_and_query_strings(site, cashier)

    Worker(site.runtime).tick()  # receipt emails go out to the mail spool
    post_routes = {mount + route.path for mount, route in _post_routes(site)}
    assert post_routes - site.seen_routes == set(), "a form this test does not fill"
    var = site.runtime.settings.var_dir
    (var / "server.log").write_text(site.log.getvalue())
    files = sorted(path for path in var.rglob("*") if path.is_file())
    database = site.runtime.settings.database_url
    if database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///"))
        files += [path, path.with_name(path.name + "-wal")]  # free pages and the WAL too
    hits = card_numbers_in_files(files) | card_numbers_in_database(site.runtime.engine)
    assert hits == {}
    assert "************" in site.log.getvalue(), "the log should show the masked numbers"


def _the_portal(
    site: Site, account: str, invoice: str, receipt_number: str, transaction_id: str
) -> None:
    citizen = site.browser()
    inject(site, citizen, "/find", {"number": account, "factor": "4821"})
    found = citizen.post(
        "/find",
        data={"number": account, "factor": "4821", "csrf_token": _csrf(citizen.get("/find").text)},
    )
    assert found.status_code == 303, found.text
    inject(site, citizen, "/basket", {"pay": invoice})
    chosen = submit(citizen, "/basket", "/basket", {"pay": invoice})
    assert chosen.status_code == 303, chosen.text
    inject(site, citizen, "/check", {})
    status = {"reference": receipt_number, "amount": "125.00", "check": ""}
    inject(site, citizen, "/status", status)
    # Proven (the cash payment had no email: by its transaction ID and amount), the
    # receipt page offers "email me this receipt".
    proven = citizen.post(
        "/status",
        data={
            "reference": transaction_id,
            "amount": "125.00",
            "check": "",
            "csrf_token": _csrf(citizen.get("/status").text),
        },
    )
    assert proven.status_code == 303, proven.text
    inject(site, citizen, f"/receipts/{receipt_number}", {"email": "jane@example.org"})


def _signing_in(site: Site) -> None:
    stranger = site.browser()
    inject(site, stranger, "/staff/login", {"username": "nobody-here", "password": "wrong"})
    # Someone who must set up a code: the enrolment page's form.
    with transaction(site.runtime.factory) as db:
        name = f"pci-{next(_names)}"
        create_staff(
            db, SYSTEM, username=name, password=PASSWORD, display_name="S", roles=["admin"]
        )
    enrolling = site.browser()
    page = enrolling.get("/staff/login").text
    enrolling.post(
        "/staff/login",
        data={"username": name, "password": PASSWORD, "next": "", "csrf_token": _csrf(page)},
    )
    inject(site, enrolling, "/staff/login/setup", {})
    # Signed in with a password alone (an agent): setting up a code, changing the password.
    agent_name, _ = _staff(site, ["agent"], mfa=False)
    agent = site.browser()
    page = agent.get("/staff/login").text
    signed = agent.post(
        "/staff/login",
        data={"username": agent_name, "password": PASSWORD, "next": "", "csrf_token": _csrf(page)},
    )
    assert signed.status_code == 303
    inject(site, agent, "/staff/account/mfa", {})
    passwords = {
        "current_password": PASSWORD,
        "new": "another-long-pw",
        "confirm": "another-long-pw",
    }
    inject(site, agent, "/staff/account/password", passwords)


def _the_counter(site: Site, cashier: httpx.Client, customer_id: int, invoice: str) -> None:
    page = f"/staff/customers/{customer_id}/pay"
    inject(site, cashier, page, {"pay": invoice, "tender": "cheque", "cheque_number": "000123"})
    inject(site, cashier, page, {"pay": invoice, "tender": "cash", "cash_tendered": "50.00"})
    inject(site, cashier, f"/staff/customers/{customer_id}", {})


def _interactions(site: Site, cashier: httpx.Client, transaction_id: str) -> None:
    inject(site, cashier, "/staff/interactions/new", {"about": transaction_id})
    started = cashier.post(
        "/staff/interactions/new",
        data={
            "channel": "call",
            "unidentified": "1",
            "about": "",
            "csrf_token": _csrf(cashier.get("/staff/interactions/new").text),
        },
    )
    assert started.status_code == 303, started.text
    page = urlsplit(started.headers["location"]).path
    # A follow-up scheduled first, so the page also offers "done".
    scheduled = cashier.post(
        f"{page}/follow-up", data={"due": "2099-01-01", "csrf_token": _csrf(cashier.get(page).text)}
    )
    assert scheduled.status_code == 303, scheduled.text
    accepted = {"customer": transaction_id, "reference": transaction_id, "due": "2099-01-01"}
    inject(site, cashier, page, accepted | {"text": "Caller asked about a refund."})
    inject(site, cashier, f"/staff/payments/{transaction_id}", {"email": "jane@example.org"})


def _administration(site: Site) -> None:
    admin = _signed_in(site, ["admin"])
    new_user = {
        "username": f"pci-new-{next(_names)}",
        "display_name": "New Person",
        "email": "new.person@example.org",
        "roles": "agent",
        "password": "a-long-temporary-pw",
    }
    inject(site, admin, "/staff/admin/users/new", new_user)
    someone, _ = _staff(site, ["agent"])
    with transaction(site.runtime.factory) as db:
        user = db.scalars(select(StaffUser).where(StaffUser.username == someone)).one()
        # Locked out from somewhere, so the page offers "unlock" too.
        user.locked_until = utcnow() + dt.timedelta(minutes=10)
        user_id = user.id
        role_id = db.scalars(select(Role.id).where(Role.name == "agent")).one()
    inject(site, admin, f"/staff/admin/users/{user_id}", {"password": "a-new-temporary-pw"})
    role = {
        "name": f"pci-role-{next(_names)}",
        "description": "Looks customers up",
        "permissions": "customers:view",
    }
    inject(site, admin, "/staff/admin/roles/new", role)
    inject(site, admin, f"/staff/admin/roles/{role_id}", {})
    inject(site, admin, "/staff/admin/catalog", {})  # names in the other languages
    # Kiosks: registering one, and its page (new code, out of service, revoke with a reason).
    inject(
        site,
        admin,
        "/staff/admin/terminals/new",
        {"code": f"KIOSK-PCI-{next(_names)}", "location": "City Hall lobby"},
    )
    with transaction(site.runtime.factory) as db:
        kiosk = registry.register(
            db, SYSTEM, code=f"KIOSK-PCI-{next(_names)}", location="Library"
        ).terminal
        db.flush()
        kiosk_id = kiosk.id
    inject(site, admin, f"/staff/terminals/{kiosk_id}", {"reason": "Moved upstairs"})
    inject(site, admin, "/staff/admin/integrations", {})  # the sandbox's switches
    inject(
        site,
        admin,
        "/staff/admin/integrations/sources/utility-billing",
        {"mode": "pull", "timeout": "2000"},
    )
    with transaction(site.runtime.factory) as db:  # listed, with its revoke button
        integration_clients.register(db, SYSTEM, name="PCI system", scopes=["balances:write"])
    inject(
        site,
        admin,
        "/staff/admin/integrations/clients",
        {"name": "Tax billing", "scope": ["balances:write"]},
    )
    hook = {
        "owner": "CRM team",
        "owner_email": "crm@example.org",
        "url": "https://crm.example.org/hooks",
        "events": ["exception.opened"],
    }
    inject(site, admin, "/staff/admin/webhooks", hook)
    with transaction(site.runtime.factory) as db:
        made = webhooks.subscribe(
            db, SYSTEM, ("PCI", "p@example.org", hook["url"], ["exception.opened"])
        )  # type: ignore[arg-type]
        cases.open_case(db, SYSTEM, ExceptionKind.POSSIBLE_DUPLICATE, f"pci-hook-{made.id}")
        hook_id = made.id
    inject(
        site,
        admin,
        f"/staff/admin/webhooks/{hook_id}",
        hook | {"from": "2026-12-01", "to": "2026-12-31"},
    )
    inject(site, admin, "/staff/", {})  # sign out, sign out everywhere: nothing typed


def _corrections(site: Site) -> None:
    """Asking for refunds, voids, reversals, adjustments and overrides, deciding them, and
    resolving exceptions: every form, every field."""
    gateway = site.runtime.gateway
    assert isinstance(gateway, SandboxGateway)
    with site.runtime.factory() as db:
        paid, held = factories.bills(db, [9_000, 6_000])
        card = PaymentRequest(
            items=(Item(paid.invoice_number),),
            tender=Tender.CARD,
            channel=Channel.PORTAL,
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            card_token=token(gateway),
        )
        payment = take_payment(db, gateway, card, SYSTEM).payment
        in_doubt = dataclasses.replace(
            card,
            items=(Item(held.invoice_number),),
            idempotency_key=str(uuid.uuid4()),
            card_token=token(gateway, Behaviour.TIMEOUT_APPROVE),
        )
        take_payment(db, gateway, in_doubt, SYSTEM)  # its bill is held: an override's case
        case = cases.open_case(
            db,
            SYSTEM,
            ExceptionKind.LONG_UNKNOWN,
            f"pci-{payment.transaction_id}",
            payment_id=payment.id,
            customer_id=payment.customer_id,
        )
        db.commit()
        tx, customer_id, case_id = payment.transaction_id, payment.customer_id, case.id
    asker = _signed_in(site, ["supervisor", "finance"])
    reasons = {"comment": "Paid twice.", "amount": "10.00", "reason": "duplicate"}
    inject(site, asker, f"/staff/payments/{tx}", reasons | {"source": "proportion"})
    inject(
        site,
        asker,
        f"/staff/exceptions/{case_id}",
        {"note": "Checked.", "outcome": "no_action_needed"},
    )
    adjust = {"amount": "5.00", "reason": "waive_fee", "comment": "Waived.", "direction": "credit"}
    inject(site, asker, f"/staff/customers/{customer_id}/adjust", adjust)
    inject(
        site,
        asker,
        f"/staff/customers/{customer_id}/pay",
        {"bill": held.invoice_number, "reason": "payment_in_doubt", "comment": "At the desk."},
    )
    with site.runtime.factory() as db:
        request_id = db.scalars(
            select(ApprovalRequest.id).where(ApprovalRequest.payment_id == payment.id)
        ).first()
    assert request_id is not None
    decider = _signed_in(site, ["supervisor"])
    inject(
        site, decider, f"/staff/approvals/{request_id}", {"decision": "reject", "comment": "No."}
    )


def _support(site: Site) -> None:
    """The support queue's request page (every action on it) and the help topics' words."""
    with site.runtime.factory() as db:
        (bill,) = factories.bills(db, [3_000])
        paid = factories.paid_in_cash(db, bill, SYSTEM).payment
        asked = support.open_request(
            db,
            SYSTEM,
            channel=InteractionChannel.WEB,
            priority=SupportPriority.NORMAL,
            contact=support.Contact("Pat Doe", "pat@example.org", None, "en", ContactMethod.EMAIL),
            message="Did my payment go through?",
            targets=sla.Targets.from_settings(site.runtime.settings),
            about=support.about(db, "transaction", paid.transaction_id),
        )
        # A caller not known yet: the page offers to identify the customer.
        stranger = support.open_request(
            db,
            SYSTEM,
            channel=InteractionChannel.WEB,
            priority=SupportPriority.LOW,
            contact=support.Contact("Sam Roe", None, "555-0100", "en", ContactMethod.PHONE),
            message="A question about my bill.",
            targets=sla.Targets.from_settings(site.runtime.settings),
        )
        db.commit()
        page = f"/staff/support/{asked.reference}"
        unknown = f"/staff/support/{stranger.reference}"
        topic_id = db.scalars(select(HelpTopic.id)).first()
    agent = _signed_in(site, ["supervisor"])
    accepted = {
        "text": "We have your payment.",
        "note": "Called back.",
        "reference": paid.transaction_id,
        "customer": paid.transaction_id,
        "outcome": "resolved",
    }
    inject(site, agent, page, accepted)
    inject(site, agent, unknown, accepted)
    admin = _signed_in(site, ["admin"])
    inject(site, admin, f"/staff/admin/help/{topic_id}", {})


def _finance(site: Site, cashier: httpx.Client, customer_id: int, invoice: str) -> None:
    """The drawer (open, then count), a deposit, and a journal export."""
    inject(site, cashier, "/staff/finance/drawer", {"float": "100.00"})
    page = "/staff/finance/drawer"
    if "Count and close the drawer" not in cashier.get(page).text:
        submit(cashier, page, "/staff/finance/drawer/open", {"float": "100.00"})
    inject(site, cashier, page, {"cheques": "0", "comment": "Counted."})
    finance = _signed_in(site, ["finance"])
    inject(site, finance, "/staff/finance/deposits", {"bag": "BAG-PCI"})
    inject(site, finance, "/staff/finance/journal", {"first": "2001-01-01", "last": "2001-01-01"})
    _bank_statements(site, finance)


def _bank_statements(site: Site, finance: httpx.Client) -> None:
    """The reconciliation forms: the match's reason is typed; the upload's field is a file,
    so card numbers go into the file itself (a bank line's text, its references and the
    file's name), which is imported and kept, masked."""
    page = "/staff/finance/reconciliation"
    inject(site, finance, page, {"reason": "Matched by phone with the bank."})
    card = "4111 1111 1111 1111"
    carrying = BAI2.replace(
        "BR001,BAG-1001,COUNTER DEPOSIT", f"BR001,{card},PAID BY {card}"
    ).replace("BR004", "4111111111111111")
    for name, data in (
        (f"statement {card}.bai", carrying.encode()),
        ("statement.xml", CAMT053.replace("Counter deposit", f"card {card}").encode()),
        ("broken.xml", CAMT053.replace("<CdtDbtInd>DBIT", f"<CdtDbtInd>{card}").encode()),
    ):
        html = finance.get(page).text
        answer = finance.post(
            "/staff/finance/reconciliation/import",
            data={"csrf_token": _csrf(html)},
            files={"statement": (name, data, "application/octet-stream")},
        )
        assert answer.status_code in (303, 422), answer.text[:300]
    site.seen_routes.add("/staff/finance/reconciliation/import")


def _addresses_and_query_strings(site: Site, cashier: httpx.Client) -> None:
    """What is typed into the address bar: paths and query strings, raw and encoded."""
    stranger = site.browser()
    for card in CARDS:
        encoded = card.replace(" ", "+").replace(",", "%2C").replace("/", "%2F")
        cashier.get(f"/staff/search?q={encoded}")
        cashier.get(f"/staff/interactions/new?about={encoded}")
        stranger.get(f"/verify/{card.replace(' ', '%20')}?s={encoded}")
        stranger.get(f"/receipts/{card.replace(' ', '%20')}")
        stranger.get(f"/status/{card.replace(' ', '%20')}")
    # Signed out, a staff page sends to the sign-in page with the page to come back to,
    # which a sign-in with a code keeps in its session until the code is given.
    name, secret = _staff(site, ["cashier"])
    assert secret is not None
    returning = site.browser()
    to_sign_in = returning.get("/staff/search?q=4111+1111+1111+1111")
    assert to_sign_in.status_code == 303
    location = to_sign_in.headers["location"]
    (back_to,) = parse_qs(urlsplit(location).query)["next"]
    assert "4111" in back_to
    page = returning.get(location).text
    # Posted as the link asked, whatever the page's own form now holds.
    pending = returning.post(
        "/staff/login",
        data={"username": name, "password": PASSWORD, "next": back_to, "csrf_token": _csrf(page)},
    )
    assert pending.headers["location"].endswith("/staff/login/code")
    code_page = returning.get("/staff/login/code").text
    done = returning.post(
        "/staff/login/code", data={"code": _code(secret), "csrf_token": _csrf(code_page)}
    )
    assert done.status_code == 303
