"""The `paydesk` command as an operator runs it: real processes, real files, real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from paydesk.cli import proxy_options
from shared.customers import search
from shared.finance import journal
from shared.gateway.sandbox.cards import SANDBOX_CARDS
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import (
    AuditChainHead,
    AuditEvent,
    Customer,
    GlEntry,
    GlSource,
    Payment,
    Receipt,
)
from tests.conftest import Database
from tests.shared.reconciliation.samples import BAI2
from tests.support.pci import card_numbers_in, card_numbers_in_files

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
PAYDESK = [sys.executable, "-m", "paydesk.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYDESK_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def paydesk(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PAYDESK, *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """`paydesk demo` started in an empty folder; yields (base URL, folder, log file)."""
    folder = tmp_path_factory.mktemp("demo")
    port = _free_port()
    log = folder / "demo.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*PAYDESK, "demo", "--port", str(port)],
            cwd=folder,
            # No PAYDESK_BASE_URL: the demo must work out its own from --port.
            env=_env(PAYDESK_LOG_LEVEL="DEBUG"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("paydesk demo did not answer /healthz in time:\n" + log.read_text())
        yield base, folder, log
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_demo_starts_from_an_empty_folder_and_answers(demo: tuple[str, Path, Path]) -> None:
    base, folder, log = demo
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json()["database"] == "ok"
    assert (folder / "var" / "paydesk.db").exists()
    assert (folder / "var" / "sandbox-gateway.db").exists()
    printed = log.read_text()
    assert f"{base}/staff/" in printed
    assert "demo-cashier-password" in printed
    assert f"{base}/staff/demo-mail" in printed  # where "Email my receipt" went
    home = httpx.get(f"{base}/")
    assert home.status_code == 200
    assert "default-src 'none'" in home.headers["content-security-policy"]


def test_a_demo_on_another_port_writes_back_to_itself(demo: tuple[str, Path, Path]) -> None:
    """The demo's water bills paid while seeding are written back to the demo's own
    sandbox source system: on the port it was given, not on :8000."""
    base, _, log = demo
    received: list[object] = []
    deadline = time.monotonic() + 60  # a bound for the in-process worker, not a timing check
    while not received and time.monotonic() < deadline:
        received = httpx.get(f"{base}/sandbox-source/utility-billing/payments").json()
        time.sleep(0.5)
    assert received, log.read_text()[-3000:]


def test_the_demo_starts_with_requests_in_the_support_queue(
    demo: tuple[str, Path, Path],
) -> None:
    base, _, _ = demo
    with httpx.Client(base_url=base) as agent:
        sign_in = agent.get("/staff/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', sign_in.text)
        assert token
        signed = agent.post(
            "/staff/login",
            data={
                "username": "agent",
                "password": "demo-agent-password",
                "csrf_token": token.group(1),
                "next": "",
            },
        )
        assert signed.status_code == 303
        queue = agent.get("/staff/support").text
        references = set(re.findall(r'id="request-(S-\d{4}-\d{6})"', queue))
        assert len(references) == 4
        assert "Call for help at a kiosk" in queue and "Possible duplicate charge" not in queue
        assert "sla-breached" in queue and "sla-at_risk" in queue
        home = agent.get("/staff/").text
        assert re.search(r"<strong>4</strong> new", home)


def test_the_receipt_qr_link_verifies_and_a_forged_one_does_not(
    demo: tuple[str, Path, Path],
) -> None:
    base, folder, _ = demo
    from shared.db import make_engine, make_sessionmaker
    from shared.receipts.numbering import verify_url

    engine = make_engine(f"sqlite:///{folder / 'var' / 'paydesk.db'}")
    with make_sessionmaker(engine)() as db:
        receipt = db.scalars(select(Receipt).order_by(Receipt.id)).first()
        assert receipt is not None
        number, total = receipt.receipt_number, receipt.payment.amount
    engine.dispose()
    secret = (folder / "var" / "secret_key").read_text().strip()
    good = httpx.get(verify_url(base, secret, number, total))
    assert good.status_code == 200
    assert "is genuine" in good.text
    forged = httpx.get(verify_url(base, "not-our-key", number, total))
    assert forged.status_code == 404
    assert "cannot confirm" in forged.text
    french = httpx.get(verify_url(base, secret, number, total) + "&lang=fr")
    assert 'lang="fr"' in french.text


def test_spoofed_forwarded_addresses_do_not_dodge_the_look_up_limit(
    demo: tuple[str, Path, Path],
) -> None:
    """The demo runs `paydesk serve`'s code with FORWARDED_ALLOW_IPS unset: a client on
    loopback naming a new address in X-Forwarded-For each time is still one address."""
    base, _, _ = demo
    with httpx.Client(base_url=base) as browser:
        home = browser.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert token is not None
        answers = [
            browser.post(
                "/find",
                data={"csrf_token": token.group(1), "number": f"NOPE-{n}", "factor": "0000"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(30)
        ]
    assert answers[:10] == [422] * 10
    assert set(answers[10:]) == {429}


async def _client_address(scope: Scope, receive: Receive, send: Send) -> None:
    client = scope.get("client") or ("-", 0)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"{client[0]} {scope['scheme']}".encode()})


@pytest.mark.parametrize(
    ("environ", "seen"),
    [
        ({}, "127.0.0.1 http"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.9"}, "127.0.0.1 http"),
        ({"FORWARDED_ALLOW_IPS": "127.0.0.1"}, "203.0.113.9 https"),
    ],
    ids=["unset: nobody", "another proxy", "this proxy"],
)
def test_forwarded_headers_are_believed_only_from_forwarded_allow_ips(
    environ: dict[str, str], seen: str
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        _client_address, log_config=None, lifespan="off", **proxy_options(environ)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        answer = httpx.get(
            f"http://127.0.0.1:{sock.getsockname()[1]}/",
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert answer.text == seen


def test_no_card_number_reaches_the_databases_or_the_logs(demo: tuple[str, Path, Path]) -> None:
    """The demo paid by card (card-present tokens); pay once more on the hosted page,
    then scan every database file and the log for a card number."""
    base, folder, log = demo
    sandbox = SandboxGateway(
        f"sqlite:///{folder / 'var' / 'sandbox-gateway.db'}", f"{base}/sandbox-gateway"
    )
    session = sandbox.create_hosted_session(
        amount=4_200,
        currency="CAD",
        our_key="pci-check",
        return_url=f"{base}/",
        cancel_url=f"{base}/",
        locale="en",
        description="PCI check",
    )
    page = httpx.get(session.url)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert form_token is not None
    card = SANDBOX_CARDS[0]
    paid = httpx.post(
        session.url,
        data={
            "form_token": form_token.group(1),
            "name": "Alex Martin",
            "number": card.spaced,
            "expiry": "12/35",
            "cvc": "123",
        },
    )
    assert paid.status_code == 303
    assert sandbox.hosted_result(session.id).completed
    sandbox.close()
    files = [*sorted((folder / "var").glob("*.db*")), log]
    assert card_numbers_in_files(files) == {}
    assert card_numbers_in(card.number.encode()), "the scanner must recognise the card it looks for"


def test_migrate_seed_and_audit_verify_on_each_database(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"PAYDESK_DATABASE_URL": fresh_database.url, "PAYDESK_VAR_DIR": str(tmp_path / "var")}
    assert paydesk("migrate", cwd=tmp_path, **env).returncode == 0
    seeded = paydesk(
        "seed", "--customers", "300", "--payments", "2000", "--quiet", cwd=tmp_path, **env
    )
    assert seeded.returncode == 0, seeded.stderr
    with fresh_database.sessionmaker()() as db:
        assert db.scalar(select(func.count()).select_from(Payment)) >= 2000
        sequences = list(db.scalars(select(Receipt.sequence).order_by(Receipt.sequence)))
        assert sequences == list(range(1, len(sequences) + 1))
        # Seeded customers are found by name and phone like any other.
        someone = db.scalars(select(Customer).order_by(Customer.id.desc())).first()
        assert someone is not None and someone.phone
        for typed in (someone.name.lower(), someone.phone, someone.email):
            assert someone.id in search.match_customers(db, typed or "").ids, typed
    verified = paydesk("audit", "verify", cwd=tmp_path, **env)
    assert verified.returncode == 0 and verified.stdout.startswith("OK")
    kept = tmp_path / "offsite" / "checkpoint.json"
    kept.parent.mkdir()
    taken = paydesk("audit", "checkpoint", "--output", str(kept), cwd=tmp_path, **env)
    assert taken.returncode == 0, taken.stderr
    printed = paydesk("audit", "checkpoint", cwd=tmp_path, **env)
    assert json.loads(printed.stdout)["seq"] == json.loads(kept.read_text())["seq"]
    extends = paydesk("audit", "verify", "--checkpoint", str(kept), cwd=tmp_path, **env)
    assert extends.returncode == 0, extends.stderr
    assert f"Extends checkpoint {kept}" in extends.stdout

    # Someone who owns the database takes the triggers away, deletes the last events and
    # moves the head back: the chain is whole in itself, the checkpoint knows better.
    head = json.loads(kept.read_text())["seq"]
    with fresh_database.sessionmaker()() as db:
        _triggers_off(db)
        db.execute(delete(AuditEvent).where(AuditEvent.seq > head - 2))
        last = db.scalars(select(AuditEvent).where(AuditEvent.seq == head - 2)).one()
        db.execute(update(AuditChainHead).values(seq=last.seq, hash=last.hash))
        db.commit()
    assert paydesk("audit", "verify", cwd=tmp_path, **env).returncode == 0
    shortened = paydesk("audit", "verify", "--checkpoint", str(kept), cwd=tmp_path, **env)
    assert shortened.returncode == 1
    assert (
        "BROKEN against checkpoint" in shortened.stderr
        and "before the checkpoint" in shortened.stderr
    )

    with fresh_database.sessionmaker()() as db:
        _triggers_off(db)
        db.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(reason="edited"))
        db.commit()
    broken = paydesk("audit", "verify", cwd=tmp_path, **env)
    assert broken.returncode == 1
    assert "sequence 5" in broken.stderr
    refused = paydesk("audit", "checkpoint", cwd=tmp_path, **env)
    assert refused.returncode == 1 and refused.stdout == ""
    forged = tmp_path / "forged.json"
    forged.write_text(kept.read_text().replace(f'"seq": {head}', f'"seq": {head - 2}'))
    unsigned = paydesk("audit", "verify", "--checkpoint", str(forged), cwd=tmp_path, **env)
    assert unsigned.returncode == 2 and "signature" in unsigned.stderr


def _triggers_off(db: Session) -> None:
    if db.get_bind().dialect.name == "postgresql":
        for table in ("audit_events", "audit_chain_head"):
            db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return
    for name in ("audit_events_no_update", "audit_events_no_delete"):
        db.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    db.execute(text("DROP TRIGGER IF EXISTS audit_chain_head_forward_only"))


def test_staff_create_refuses_a_short_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert paydesk("migrate", cwd=tmp_path, PAYDESK_DATABASE_URL=url).returncode == 0
    weak = paydesk(
        "staff",
        "create",
        "--username",
        "kim",
        "--role",
        "agent",
        cwd=tmp_path,
        PAYDESK_DATABASE_URL=url,
        PAYDESK_NEW_STAFF_PASSWORD="short",
    )
    assert weak.returncode == 2 and "at least 12" in weak.stderr
    made = paydesk(
        "staff",
        "create",
        "--username",
        "kim",
        "--role",
        "agent",
        "--role",
        "cashier",
        cwd=tmp_path,
        PAYDESK_DATABASE_URL=url,
        PAYDESK_NEW_STAFF_PASSWORD="a-long-enough-passphrase",
    )
    assert made.returncode == 0, made.stderr
    from shared.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM staff_users WHERE username='kim'")
        ).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2id$")


def test_journal_post_writes_each_payment_once_and_balanced(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"PAYDESK_DATABASE_URL": fresh_database.url, "PAYDESK_VAR_DIR": str(tmp_path / "var")}
    assert paydesk("migrate", cwd=tmp_path, **env).returncode == 0
    seeded = paydesk(
        "seed", "--customers", "50", "--payments", "300", "--quiet", cwd=tmp_path, **env
    )
    assert seeded.returncode == 0, seeded.stderr
    with fresh_database.sessionmaker()() as db:
        posted = db.scalar(
            select(func.count()).select_from(Payment).where(Payment.posted_at.is_not(None))
        )
    first = paydesk("journal", "post", cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"\d+ journal entries written.", first.stdout.strip())
    with fresh_database.sessionmaker()() as db:
        journaled = db.scalar(
            select(func.count(func.distinct(GlEntry.source_id))).where(
                GlEntry.source == GlSource.PAYMENT
            )
        )
        entries = db.scalar(
            select(func.count()).select_from(GlEntry).where(GlEntry.source == GlSource.PAYMENT)
        )
    # Every posted payment once (the demo part of the seed wrote its own already).
    assert journaled == entries == posted
    again = paydesk("journal", "post", cwd=tmp_path, **env)
    assert again.stdout.strip() == "0 journal entries written."
    with fresh_database.sessionmaker()() as db:
        days = sorted(set(db.scalars(select(GlEntry.journal_date))))
        journal.check_balanced(journal.entries_between(db, days[0], days[-1]))
    assert paydesk("audit", "verify", cwd=tmp_path, **env).returncode == 0


def test_statement_import_once_and_refused_with_where(
    fresh_database: Database, tmp_path: Path
) -> None:
    env = {"PAYDESK_DATABASE_URL": fresh_database.url, "PAYDESK_VAR_DIR": str(tmp_path / "var")}
    assert paydesk("migrate", cwd=tmp_path, **env).returncode == 0
    good, bad = tmp_path / "good.bai", tmp_path / "bad.bai"
    good.write_text(BAI2)
    bad.write_text(BAI2.replace("98,351000,2,12/", "98,351000,2,13/"))
    refused = paydesk("statement", "import", str(bad), cwd=tmp_path, **env)
    assert refused.returncode == 1 and "bad.bai was not imported: line 13:" in refused.stderr
    first = paydesk("statement", "import", str(good), cwd=tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Imported 2 statement(s): 0 matches")
    again = paydesk("statement", "import", str(good), cwd=tmp_path, **env)
    assert again.stdout.strip() == "This statement was imported before: nothing changed."
