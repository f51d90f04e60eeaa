"""Connected systems: bills pushed per second, and the customer view's latency when
balances are pulled.

    .venv/bin/python bench/integrations.py --push        # part 1: the bulk push endpoint
    .venv/bin/python bench/integrations.py               # part 2: SQLite, 200 views of each
    .venv/bin/python bench/integrations.py --views 500
    PAYDESK_TEST_POSTGRES_URL=postgresql+psycopg://... .venv/bin/python bench/integrations.py

Part 1 (`--push`): a fresh database behind a real uvicorn on loopback, a system set to
push with 100 accounts, an integration client with `balances:write`; `--requests` bulk
requests of `--lines` NDJSON lines each (every line a bill new to Paydesk), then the same
again as updates (version 2, a new owing). Bills per second is lines / wall time, the
client waiting for each answer before sending the next.

Part 2: a fresh database behind a real uvicorn on
loopback, an agent signed in with httpx, and three customers with an account in four
departments each:

- `local`: every account's bills held in Paydesk (today's behaviour);
- `pulled, fast`: three accounts pulled from a source system that answers at once;
- `pulled, fast + slow + down`: one account each from a fast system, a slow one (answers
  after 2 s; its timeout is 300 ms) and a down one (nothing listens on its port).

Every view asks again (PAYDESK_BALANCE_MAX_AGE_SECONDS=0), so each pulled view pays its
sources' round trips. The circuit breaker opens after 3 failures for 60 s, as by default:
after the first few views the slow and down systems are not asked any more, and those
accounts show their last balance at once. `--no-breaker` sets the failures to a million,
to see the cost of waiting for the slow system's timeout on every view. The views of the
three customers are interleaved; p50 and p95 are printed with GET /healthz beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paydesk.app import asgi, create_app
from shared import integration_clients
from shared.actors import SYSTEM
from shared.auth.staff_users import create_staff
from shared.config import WriteBackTarget
from shared.db import transaction, utcnow
from shared.models import BalanceSourceSetting, SourceMode
from tests import factories
from tests.support.apps import runtime_on_fresh_database
from tests.support.live_server import serving
from tests.support.pull_source import PullSource, bill

SYSTEMS = ("fast-billing", "slow-billing", "down-billing")
SECRET = "bench-integrations"
TIMEOUT_MS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _customer(db: Session, systems: tuple[str, ...], sources: dict[str, PullSource]) -> int:
    customer = factories.customer(db, name="Bench Resident")
    for index in range(4):
        dept = factories.department(db, name=f"Department {index}")
        fee = factories.fee_type(db, dept)
        account = factories.account(db, customer, dept)
        bills = [factories.invoice(db, account, fee, 1_000 * (n + 1)) for n in range(3)]
        if index < len(systems):
            account.source_system = systems[index]
            if systems[index] in sources:
                sources[systems[index]].books[account.account_number] = [
                    bill(i.invoice_number, i.amount_due, fee.code) for i in bills
                ]
    db.commit()
    return customer.id


def run(backend: str, views: int, breaker: bool) -> None:
    fast, slow = PullSource(SECRET), PullSource(SECRET)
    slow.delay = 2.0
    down_url = f"http://127.0.0.1:{_free_port()}/balances"
    urls = {"fast-billing": fast.url, "slow-billing": slow.url, "down-billing": down_url}
    with tempfile.TemporaryDirectory() as tmp, fast, slow:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with runtime_on_fresh_database(
            backend,
            Path(tmp),
            secret_key="bench-integrations",
            base_url=base,
            log_level="WARNING",
            balance_max_age_seconds=0,
            balance_breaker_failures=3 if breaker else 1_000_000,
            write_back_targets=tuple(
                WriteBackTarget(s, "http://127.0.0.1:9/unused", SECRET) for s in SYSTEMS
            ),
        ) as runtime:
            with transaction(runtime.factory) as db:
                create_staff(
                    db,
                    SYSTEM,
                    username="bench-agent",
                    password="bench-password-1",
                    display_name="Bench",
                    roles=["agent"],
                )
                for system in SYSTEMS:
                    db.add(
                        BalanceSourceSetting(
                            system=system,
                            mode=SourceMode.PULL,
                            url=urls[system],
                            timeout_ms=TIMEOUT_MS,
                            updated_by="bench",
                            updated_at=utcnow(),
                        )
                    )
            sources = {"fast-billing": fast, "slow-billing": slow}
            with runtime.factory() as db:
                customers = {
                    "local": _customer(db, (), sources),
                    "pulled, fast": _customer(db, ("fast-billing",) * 3, sources),
                    "pulled, fast + slow + down": _customer(db, SYSTEMS, sources),
                }
            with serving(asgi(create_app(runtime)), sock), httpx.Client(base_url=base) as client:
                page = client.get("/staff/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert token
                client.post(
                    "/staff/login",
                    data={
                        "username": "bench-agent",
                        "password": "bench-password-1",
                        "next": "",
                        "csrf_token": token[1],
                    },
                )
                assert client.get("/staff/").status_code == 200
                samples: dict[str, list[float]] = {name: [] for name in [*customers, "healthz"]}
                for ident in customers.values():  # warm up
                    client.get(f"/staff/customers/{ident}")
                for _ in range(views):
                    for name, ident in customers.items():
                        start = time.perf_counter()
                        answer = client.get(f"/staff/customers/{ident}")
                        samples[name].append(time.perf_counter() - start)
                        assert answer.status_code == 200, answer.text[:200]
                    start = time.perf_counter()
                    client.get("/healthz")
                    samples["healthz"].append(time.perf_counter() - start)
        sock.close()
    print(f"\n{backend}, {views} views each, breaker {'on' if breaker else 'off'}")
    print(f"{'customer view':<30} {'p50 ms':>8} {'p95 ms':>8}")
    for name, found in samples.items():
        p50, p95 = _ms(found)
        print(f"{name:<30} {p50:8.1f} {p95:8.1f}")
    print(f"slow system asked {len(slow.asked)} times, fast {len(fast.asked)} times")


def run_push(backend: str, requests: int, lines: int) -> None:
    system = "bench-push"
    with tempfile.TemporaryDirectory() as tmp:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with runtime_on_fresh_database(
            backend,
            Path(tmp),
            secret_key="bench-push",
            base_url=base,
            log_level="WARNING",
            api_client_calls_per_minute=1_000_000,
        ) as runtime:
            with transaction(runtime.factory) as db:
                dept = factories.department(db, name="Bench taxes")
                fee = factories.fee_type(db, dept)
                customer = factories.customer(db, name="Bench Resident")
                numbers = []
                for _ in range(100):
                    account = factories.account(db, customer, dept)
                    account.source_system = system
                    numbers.append(account.account_number)
                db.add(
                    BalanceSourceSetting(
                        system=system,
                        mode=SourceMode.PUSH,
                        timeout_ms=2000,
                        updated_by="bench",
                        updated_at=utcnow(),
                    )
                )
                made = integration_clients.register(
                    db, SYSTEM, name="Bench system", scopes=["balances:write"]
                )
                fee_code = fee.code
            with (
                serving(asgi(create_app(runtime)), sock),
                httpx.Client(base_url=base, timeout=600) as client,
            ):
                token = client.post(
                    "/api/v1/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(made.client_id, made.client_secret),
                ).json()["access_token"]
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/x-ndjson",
                }
                print(f"\n{backend}: {requests} bulk requests of {lines} lines")
                print(f"{'round':<12} {'bills':>8} {'seconds':>9} {'bills/s':>9}")
                for version, label in ((1, "new bills"), (2, "updates")):
                    start = time.perf_counter()
                    for r in range(requests):
                        body = "".join(
                            json.dumps(
                                {
                                    "number": f"PB-{r:04d}-{n:06d}",
                                    "account": numbers[n % len(numbers)],
                                    "version": version,
                                    "owing": 1_000 * version + n,
                                    "fee_type": fee_code,
                                }
                            )
                            + "\n"
                            for n in range(lines)
                        )
                        answer = client.post(
                            f"/api/v1/bills/{system}:bulk", content=body, headers=headers
                        )
                        assert answer.status_code == 200, answer.text[:300]
                        bad = [x for x in answer.text.splitlines() if '"status":200' not in x]
                        assert not bad, bad[:2]
                    took = time.perf_counter() - start
                    total = requests * lines
                    print(f"{label:<12} {total:>8} {took:>9.2f} {total / took:>9.0f}")
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--no-breaker", action="store_true")
    parser.add_argument("--push", action="store_true", help="part 1: the bulk push endpoint")
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgres"] if os.environ.get("PAYDESK_TEST_POSTGRES_URL") else [])
    for backend in backends:
        if args.push:
            run_push(backend, args.requests, args.lines)
        else:
            run(backend, args.views, breaker=not args.no_breaker)


if __name__ == "__main__":
    main()
