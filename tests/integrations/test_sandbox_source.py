"""The sandbox source system: the checks a write-back receiver makes, and the real sender
delivering to it over loopback."""

from __future__ import annotations

import fcntl
import json
import secrets
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from integrations.sandbox_source import Ledger, sandbox_source_app
from integrations.webhooks import webhook_handler
from integrations.write_back import write_back_handler
from paydesk.app import asgi, create_app
from shared.actors import SYSTEM as SYSTEM_ACTOR
from shared.balance_sources.configuration import sandbox_url
from shared.balance_sources.http_json import HttpJsonSource
from shared.balance_sources.protocol import SourceUnavailable, UnknownAccount
from shared.balance_sources.sandbox import SandboxBooks, Switches
from shared.config import SANDBOX_SOURCE_MOUNT, Settings, WriteBackTarget
from shared.db import transaction
from shared.exceptions import cases
from shared.messaging import outbox, webhooks
from shared.messaging.signing import SIGNATURE_HEADER, signature
from shared.messaging.write_back import WRITE_BACK
from shared.models import DeliveryStatus, ExceptionKind, Permission, Role, WebhookDelivery
from tests import factories
from tests.integrations.test_write_back import KEEP_TRYING, pay, write_backs
from tests.staff.conftest import Console, post_login, signed_in
from tests.support.apps import runtime_on_fresh_database
from tests.support.live_server import serving

SYSTEM = "utility-billing"
KEY = "TX-2026-000001:UTL-100071"


def make_settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        secret_key="sandbox-source-tests",
        var_dir=tmp_path,
        base_url="http://testserver",
        write_back_targets=(),
        sandbox_source_systems=(SYSTEM,),
    ).with_(**changes)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(sandbox_source_app(settings))


def news(key: str = KEY, amount: int = 8_450) -> bytes:
    return json.dumps({"event": "payment.posted", "id": key, "amount": amount}).encode()


def post(
    client: TestClient,
    settings: Settings,
    body: bytes,
    *,
    key: str = KEY,
    secret: str | None = None,
    at: float | None = None,
    system: str = SYSTEM,
    mount: str = "",
) -> httpx.Response:
    """A write-back as Paydesk sends one, signed with the system's secret unless told."""
    target = settings.write_back_target(SYSTEM)
    assert target is not None
    sig = signature(secret or target.secret, body, int(at if at is not None else time.time()))
    return client.post(
        f"{mount}/{system}/payments",
        content=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": key, SIGNATURE_HEADER: sig},
    )


def received(settings: Settings) -> list[dict[str, object]]:
    """What the sandbox lists (its GET needs a staff session: see the tests at the end)."""
    return Ledger(settings.var_dir / "sandbox-source" / f"{SYSTEM}.jsonl").latest()


def test_news_is_recorded_once_and_listed_newest_first(
    client: TestClient, settings: Settings
) -> None:
    first = post(client, settings, news())
    assert (first.status_code, first.json()["status"]) == (201, "recorded")
    again = post(client, settings, news())
    assert (again.status_code, again.json()["status"]) == (200, "already recorded")
    assert post(client, settings, news("TX-2:UTL-2"), key="TX-2:UTL-2").status_code == 201

    listed = received(settings)
    assert [entry["key"] for entry in listed] == ["TX-2:UTL-2", KEY]
    assert listed[1]["news"] == json.loads(news())
    assert (settings.var_dir / "sandbox-source" / f"{SYSTEM}.jsonl").exists()


def test_the_list_holds_the_latest_hundred(client: TestClient, settings: Settings) -> None:
    ledger = Ledger(settings.var_dir / "sandbox-source" / f"{SYSTEM}.jsonl")
    for n in range(105):
        ledger.record(f"TX-{n}:UTL-{n}", json.loads(news(f"TX-{n}:UTL-{n}")))
    listed = received(settings)
    assert len(listed) == 100
    assert (listed[0]["key"], listed[-1]["key"]) == ("TX-104:UTL-104", "TX-5:UTL-5")


def test_the_same_key_with_other_news_is_a_conflict(client: TestClient, settings: Settings) -> None:
    assert post(client, settings, news()).status_code == 201
    conflict = post(client, settings, news(amount=1))
    assert (conflict.status_code, conflict.json()["status"]) == (409, "key used for other news")
    assert [entry["news"] for entry in received(settings)] == [json.loads(news())]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong secret", 401),
        ("no signature", 401),
        ("signed six minutes ago", 401),
        ("signed six minutes ahead", 401),
        ("body changed after signing", 401),
        ("id is not the key", 400),
        ("not JSON", 400),
        ("a list, not an object", 400),
        ("unknown system", 404),
    ],
)
def test_what_is_refused(client: TestClient, settings: Settings, case: str, status: int) -> None:
    now = time.time()
    answer = {
        "wrong secret": lambda: post(client, settings, news(), secret="not-the-secret"),
        "no signature": lambda: client.post(
            f"/{SYSTEM}/payments", content=news(), headers={"Idempotency-Key": KEY}
        ),
        "signed six minutes ago": lambda: post(client, settings, news(), at=now - 360),
        "signed six minutes ahead": lambda: post(client, settings, news(), at=now + 360),
        "body changed after signing": lambda: tampered(client, settings),
        "id is not the key": lambda: post(client, settings, news(), key="TX-9:UTL-9"),
        "not JSON": lambda: post(client, settings, b"paid"),
        "a list, not an object": lambda: post(client, settings, json.dumps([KEY]).encode()),
        "unknown system": lambda: post(client, settings, news(), system="tax-billing"),
    }[case]()
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()
    assert received(settings) == []


def tampered(client: TestClient, settings: Settings) -> httpx.Response:
    target = settings.write_back_target(SYSTEM)
    assert target is not None
    return client.post(
        f"/{SYSTEM}/payments",
        content=news(amount=1),
        headers={
            "Idempotency-Key": KEY,
            SIGNATURE_HEADER: signature(target.secret, news(), int(time.time())),
        },
    )


def test_a_request_waits_while_another_checks_and_records(tmp_path: Path) -> None:
    """The look-up and the append are one step under the file's lock: two requests with
    one key (threads or server processes) never both record it."""
    ledger = Ledger(tmp_path / "sandbox-source" / f"{SYSTEM}.jsonl")
    ledger.record("TX-0:UTL-0", json.loads(news("TX-0:UTL-0")))
    with ledger.path.open("a") as other, ThreadPoolExecutor(1) as pool:
        fcntl.flock(other, fcntl.LOCK_EX)  # another request, between its look-up and append
        waiting = pool.submit(ledger.record, KEY, json.loads(news()))
        with pytest.raises(TimeoutError):
            waiting.result(timeout=0.3)
        fcntl.flock(other, fcntl.LOCK_UN)
        assert waiting.result(timeout=10) == "recorded"
    with ThreadPoolExecutor(8) as pool:
        again = set(pool.map(lambda _: ledger.record(KEY, json.loads(news())), range(16)))
    assert again == {"already recorded"}
    assert [entry["key"] for entry in ledger.latest()] == [KEY, "TX-0:UTL-0"]


def test_the_sandbox_target_follows_the_settings(tmp_path: Path) -> None:
    """Nothing to configure: the address comes from the base URL, the secret from the
    secret key, and a system named in PAYDESK_WRITE_BACK_URLS keeps its own."""
    settings = make_settings(tmp_path, sandbox_source_systems=(SYSTEM, "permits"))
    target = settings.write_back_target(SYSTEM)
    assert target is not None
    assert target.url == f"http://testserver{SANDBOX_SOURCE_MOUNT}/{SYSTEM}/payments"
    others = [
        settings.write_back_target("permits"),
        settings.with_(secret_key="another-key").write_back_target(SYSTEM),
    ]
    assert target.secret not in {t.secret for t in others if t is not None}
    moved = settings.with_(base_url="https://pay.example.gov/").write_back_target(SYSTEM)
    assert moved is not None
    assert moved.url == f"https://pay.example.gov{SANDBOX_SOURCE_MOUNT}/{SYSTEM}/payments"
    real = WriteBackTarget(SYSTEM, "https://billing.example.gov/wb", "s")
    assert settings.with_(write_back_targets=(real,)).write_back_target(SYSTEM) == real
    assert settings.write_back_target("tax-billing") is None
    assert settings.with_(sandbox_source_systems=()).write_back_target(SYSTEM) is None


def test_systems_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYDESK_SANDBOX_SOURCE_SYSTEMS", " utility-billing, permits ,")
    assert Settings(secret_key="x").sandbox_source_systems == (SYSTEM, "permits")
    monkeypatch.setenv("PAYDESK_SANDBOX_SOURCE_SYSTEMS", "utility billing")
    with pytest.raises(ValueError, match="'utility billing' is not a system name"):
        Settings(secret_key="x")
    monkeypatch.delenv("PAYDESK_SANDBOX_SOURCE_SYSTEMS")
    assert Settings(secret_key="x").sandbox_source_systems == ()


@pytest.mark.parametrize("systems", [(SYSTEM,), ()])
def test_the_app_mounts_it_only_when_systems_are_listed(
    tmp_path: Path, systems: tuple[str, ...]
) -> None:
    with runtime_on_fresh_database(
        "sqlite", tmp_path, secret_key="sandbox-source-tests", sandbox_source_systems=systems
    ) as runtime:
        client = TestClient(asgi(create_app(runtime)))
        if systems:
            # No session cookie, no CSRF token: the signature is what counts.
            answer = post(client, make_settings(tmp_path), news(), mount=SANDBOX_SOURCE_MOUNT)
            assert answer.status_code == 201
            assert len(received(runtime.settings)) == 1
        else:
            assert client.get(f"{SANDBOX_SOURCE_MOUNT}/{SYSTEM}/payments").status_code == 404


@pytest.mark.slow
def test_the_real_sender_writes_back_to_it(
    db: Session, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    water, tax = factories.bills(db, [8_450, 125_000])
    water.account.source_system = SYSTEM
    db.commit()
    receipt = pay(db, water, tax)

    with socket.socket() as sock:
        # Bound first: the port goes into the base URL, and so into the target's URL.
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = make_settings(tmp_path, base_url=base_url)
        app = Starlette(routes=[Mount(SANDBOX_SOURCE_MOUNT, sandbox_source_app(settings))])
        with serving(app, sock):
            handlers = {WRITE_BACK: write_back_handler(settings)}
            assert outbox.deliver_due(factory, handlers, keep_trying=KEEP_TRYING) == 1
            # The list is for staff only; outside the app there is no staff session at all.
            listed = httpx.get(f"{base_url}{SANDBOX_SOURCE_MOUNT}/{SYSTEM}/payments")

    (wb,) = write_backs(db)
    assert (wb.source_system, wb.confirmed_at is not None) == (SYSTEM, True)
    assert listed.status_code == 401
    (entry,) = received(settings)
    assert entry["key"] == f"{receipt.payment.transaction_id}:{water.account.account_number}"
    assert entry["news"]["amount"] == 8_450
    assert [line["invoice_number"] for line in entry["news"]["lines"]] == [water.invoice_number]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """The whole app with the sandbox playing SYSTEM, and staff who can sign in to it."""
    with runtime_on_fresh_database(
        request.param,
        tmp_path_factory.mktemp("sandbox-source"),
        secret_key="sandbox-source-tests",
        sandbox_source_systems=(SYSTEM,),
    ) as runtime:
        yield Console(runtime, runtime.factory)


def _custom_role(console: Console, name: str, codes: set[str]) -> None:
    with transaction(console.factory) as db:
        known = {p.code: p for p in db.scalars(select(Permission))}
        db.add(Role(name=name, description=name, permissions=[known[c] for c in sorted(codes)]))


def test_the_list_needs_a_staff_session_with_payments_view(console: Console) -> None:
    url = f"{SANDBOX_SOURCE_MOUNT}/{SYSTEM}/payments"
    Ledger(console.runtime.settings.var_dir / "sandbox-source" / f"{SYSTEM}.jsonl").record(
        KEY, json.loads(news())
    )
    stranger = console.client()
    assert stranger.get(url).status_code == 401
    assert KEY not in stranger.get(url).text
    # Not even which systems exist.
    assert stranger.get(f"{SANDBOX_SOURCE_MOUNT}/nothing-here/payments").status_code == 401

    agent, _ = signed_in(console, ["agent"])
    answer = agent.get(url)
    assert answer.status_code == 200
    assert [entry["key"] for entry in answer.json()] == [KEY]
    assert agent.get(f"{SANDBOX_SOURCE_MOUNT}/tax-billing/payments").status_code == 404

    name = f"lister-{secrets.token_hex(3)}"
    _custom_role(console, name, {"customers:view", "notes:write"})
    without, _ = signed_in(console, [name])
    assert without.get(url).status_code == 403
    tax = console.department("Tax")
    one_department, _ = signed_in(console, ["agent"], departments={"agent": tax})
    assert one_department.get(url).status_code == 403


def test_a_pending_sign_in_is_no_staff_session(console: Console) -> None:
    client = console.client()
    account = console.user(["supervisor"])  # must enrol a code: the password alone is not it
    assert post_login(client, account.username, account.password).status_code == 303
    assert client.get(f"{SANDBOX_SOURCE_MOUNT}/{SYSTEM}/payments").status_code == 401


# -- balances: the pull contract, played ---------------------------------------------


@pytest.fixture
def played(db: Session, tmp_path: Path) -> Iterator[tuple[Settings, str, list[str]]]:
    """The sandbox serving balances on loopback, its books copied from two utility bills."""
    first, second = factories.bills(db, [8_450, 2_000])
    second.account_id = first.account_id
    first.account.source_system = SYSTEM
    second.fee_type_id = first.fee_type_id
    db.commit()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(tmp_path, base_url=base)
    assert SandboxBooks(tmp_path / "sandbox-source", SYSTEM).copy_from(db) >= 1
    app = Starlette(routes=[Mount(SANDBOX_SOURCE_MOUNT, app=sandbox_source_app(settings))])
    with serving(app, sock):
        yield settings, first.account.account_number, [first.invoice_number, second.invoice_number]
    sock.close()


def _source(settings: Settings, timeout: float = 2.0) -> HttpJsonSource:
    secret = settings.source_secret(SYSTEM)
    assert secret is not None
    return HttpJsonSource(SYSTEM, sandbox_url(settings, SYSTEM), secret, timeout)


def test_it_serves_the_bills_it_holds_and_hears_of_payments(
    played: tuple[Settings, str, list[str]],
) -> None:
    settings, number, bills = played
    statement = _source(settings).statement(number)
    assert [(b.invoice_number, b.owing) for b in statement.bills] == [
        (bills[0], 8_450),
        (bills[1], 2_000),
    ]
    with pytest.raises(UnknownAccount):
        _source(settings).statement("NO-SUCH-ACCOUNT")
    # A write-back marks the bill paid in its books.
    paid = json.dumps(
        {
            "event": "payment.posted",
            "id": KEY,
            "account_number": number,
            "lines": [{"invoice_number": bills[0], "amount": 8_450, "owing_after": 0}],
        }
    ).encode()
    target = settings.write_back_target(SYSTEM)
    assert target is not None
    answer = httpx.post(
        target.url,
        content=paid,
        headers={
            "Idempotency-Key": KEY,
            SIGNATURE_HEADER: signature(target.secret, paid, int(time.time())),
        },
    )
    assert answer.status_code == 201
    assert [b.invoice_number for b in _source(settings).statement(number).bills] == [bills[1]]


def test_its_switches_make_it_fail_contradict_and_dawdle(
    played: tuple[Settings, str, list[str]],
) -> None:
    settings, number, bills = played
    books = SandboxBooks(settings.var_dir / "sandbox-source", SYSTEM)
    books.set_switches(Switches(failing=True))
    with pytest.raises(SourceUnavailable) as down:
        _source(settings).statement(number)
    assert down.value.reason == f"{SYSTEM} answered HTTP 503"
    books.set_switches(Switches(contradicting=True))
    assert [b.invoice_number for b in _source(settings).statement(number).bills] == [bills[1]]
    books.set_switches(Switches(slow=True))
    with pytest.raises(SourceUnavailable) as slow:
        _source(settings, timeout=0.2).statement(number)
    assert slow.value.reason == f"{SYSTEM} did not answer in time"


def test_an_unsigned_balance_request_is_refused(played: tuple[Settings, str, list[str]]) -> None:
    settings, number, _bills = played
    wrong = HttpJsonSource(SYSTEM, sandbox_url(settings, SYSTEM), "not-the-secret", 2.0)
    with pytest.raises(SourceUnavailable) as refused:
        wrong.statement(number)
    assert refused.value.reason == f"{SYSTEM} answered HTTP 401"


def test_it_receives_the_demo_s_webhooks_signed_and_once(
    db: Session, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    settings = make_settings(tmp_path, base_url=f"http://127.0.0.1:{sock.getsockname()[1]}")
    subscription = webhooks.subscribe(
        db, SYSTEM_ACTOR, ("CRM", "crm@example.org", "http://127.0.0.1:9/", ["exception.opened"])
    )
    subscription.url = f"{settings.base_url}{SANDBOX_SOURCE_MOUNT}/webhooks/{subscription.id}"
    cases.open_case(db, SYSTEM_ACTOR, ExceptionKind.POSSIBLE_DUPLICATE, "sandbox-hook")
    db.commit()
    app = Starlette(routes=[Mount(SANDBOX_SOURCE_MOUNT, app=sandbox_source_app(settings))])
    with serving(app, sock):
        handlers = {webhooks.WEBHOOK: webhook_handler(settings)}
        assert outbox.deliver_due(factory, handlers) == 1
        (delivery,) = db.scalars(select(WebhookDelivery)).all()
        db.refresh(delivery)
        assert (delivery.status, delivery.response_code) == (DeliveryStatus.DELIVERED, 201)
        # Signed by another subscription's secret: refused.
        forged = httpx.post(
            f"{settings.base_url}{SANDBOX_SOURCE_MOUNT}/webhooks/{subscription.id + 1}",
            content=delivery.body.encode(),
            headers={
                "Idempotency-Key": delivery.event_id,
                SIGNATURE_HEADER: webhooks.signature_header(
                    [webhooks.signing_secret(settings, subscription.id, 1)],
                    delivery.body.encode(),
                    int(time.time()),
                ),
            },
        )
        assert forged.status_code == 401
    sock.close()
    (line,) = (
        (tmp_path / "sandbox-source" / f"webhooks-{subscription.id}.jsonl").read_text().splitlines()
    )
    assert json.loads(line)["news"]["type"] == "exception.opened"
