"""Search latency through the real HTTP stack, beside the floor measured in the same run.

    .venv/bin/python bench/search.py                       # SQLite: 100k and 1M payments
    .venv/bin/python bench/search.py --sizes 10000:100000  # customers:payments, quicker
    PAYDESK_TEST_POSTGRES_URL=postgresql+psycopg://... .venv/bin/python bench/search.py

For each database and size: a fresh database, `paydesk seed`, an agent, then a real
`paydesk serve` (uvicorn) in a subprocess and a signed-in httpx client. Each identifier
type (customer, account, invoice, receipt number, transaction ID) and a name search are
requested N times with random existing values; p50/p95 are printed beside two floors:
GET /healthz on the same server, and the raw indexed SELECT timed in Python.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.actors import SYSTEM
from shared.db import make_engine, make_sessionmaker, transaction
from shared.migrate import upgrade
from shared.staff_accounts import create_staff
from tests.support.databases import create_database, drop_schema

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _env(url: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PAYDESK_DATABASE_URL": url,
        "PAYDESK_VAR_DIR": str(tmp / "var"),
        "PAYDESK_SECRET_KEY": "bench-search",
        "PAYDESK_SECURE_COOKIES": "false",
        "PAYDESK_BASE_URL": "http://127.0.0.1",
        "PAYDESK_MAIL_BACKEND": "file",
        "PAYDESK_SANDBOX_GATEWAY_URL": f"sqlite:///{tmp / 'sandbox.db'}",
        "PAYDESK_LOG_LEVEL": "WARNING",
    }


def _sign_in(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = client.post(
        "/staff/login",
        data={"username": username, "password": password, "next": "", "csrf_token": token[1]},
    )
    assert answer.status_code == 303 and client.get("/staff/").status_code == 200, answer.text


def _samples(url: str, n: int) -> dict[str, list[str]]:
    engine = make_engine(url)
    out: dict[str, list[str]] = {}
    queries = {
        "customer": "SELECT customer_number FROM customers WHERE id = :i",
        "account": "SELECT account_number FROM accounts WHERE id = :i",
        "invoice": "SELECT invoice_number FROM invoices WHERE id = :i",
        "receipt": "SELECT receipt_number FROM receipts WHERE id = :i",
        "transaction": "SELECT transaction_id FROM payments WHERE id = :i",
        "name": "SELECT name FROM customers WHERE id = :i",
    }
    with engine.connect() as conn:
        for kind, sql in queries.items():
            table = sql.split("FROM ")[1].split()[0]
            top = int(conn.execute(text(f"SELECT max(id) FROM {table}")).scalar_one())  # noqa: S608
            values = []
            while len(values) < n:
                value = conn.execute(text(sql), {"i": random.randint(1, top)}).scalar()
                if value:
                    values.append(str(value))
            out[kind] = values
    engine.dispose()
    return out


def _raw_select_floor(url: str, values: list[str], rounds: int) -> tuple[float, float]:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    times = []
    for value in values[:rounds]:
        with factory() as db:
            start = time.perf_counter()
            db.execute(
                text("SELECT id FROM payments WHERE transaction_id = :t"), {"t": value}
            ).first()
            times.append(time.perf_counter() - start)
    engine.dispose()
    return _percentiles(times)


def _timed(get: Callable[[], httpx.Response], expect: set[int]) -> float:
    start = time.perf_counter()
    response = get()
    elapsed = time.perf_counter() - start
    assert response.status_code in expect, (response.status_code, response.text[:200])
    return elapsed


def run(backend: str, customers: int, payments: int, rounds: int) -> list[tuple[str, ...]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    url, schema = create_database(backend, tmp)
    env = _env(url, tmp)
    rows: list[tuple[str, ...]] = []
    server: subprocess.Popen[bytes] | None = None
    try:
        start = time.perf_counter()
        subprocess.run(
            [PYTHON, "-m", "paydesk.cli", "seed", "--customers", str(customers),
             "--payments", str(payments), "--quiet"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        seeded = time.perf_counter() - start
        upgrade(url)
        engine = make_engine(url)
        password = secrets.token_hex(12)
        with transaction(make_sessionmaker(engine)) as db:
            create_staff(
                db, SYSTEM, username="bench-agent", password=password,
                display_name="Bench", roles=["agent"],
            )  # fmt: skip
        engine.dispose()
        port = _free_port()
        server = subprocess.Popen(
            [PYTHON, "-m", "paydesk.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        samples = _samples(url, rounds)
        label = f"{backend} {customers // 1000}k/{payments // 1000}k"
        with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
            _sign_in(client, "bench-agent", password)
            for _ in range(20):  # warm up connections, caches, the plan cache
                client.get("/healthz")
                client.get("/staff/search", params={"q": samples["transaction"][0]})
            floor = [_timed(lambda: client.get("/healthz"), {200}) for _ in range(rounds)]
            f50, f95 = _percentiles(floor)
            r50, r95 = _raw_select_floor(url, samples["transaction"], rounds)
            rows.append((label, "healthz (floor)", f"{f50:.1f}", f"{f95:.1f}", "", ""))
            rows.append((label, "raw SELECT (floor)", f"{r50:.2f}", f"{r95:.2f}", "", ""))
            for kind, values in samples.items():
                expect = {200} if kind == "name" else {303}
                times = [
                    _timed(lambda v=v: client.get("/staff/search", params={"q": v}), expect)
                    for v in values[:rounds]
                ]
                p50, p95 = _percentiles(times)
                rows.append(
                    (label, kind, f"{p50:.1f}", f"{p95:.1f}", f"{p95 / f95:.2f}", f"{seeded:.0f}")
                )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_schema(schema)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="100000:100000,100000:1000000",
        help="comma-separated customers:payments",
    )
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgres"] if os.environ.get("PAYDESK_TEST_POSTGRES_URL") else [])
    sizes = [tuple(int(n) for n in size.split(":")) for size in args.sizes.split(",")]
    header = ("database size", "search by", "p50 ms", "p95 ms", "p95 / healthz p95", "seed s")
    rows: list[tuple[str, ...]] = []
    for backend in backends:
        for customers, payments in sizes:
            rows += run(backend, customers, payments, args.rounds)
            print(f"done: {backend} {customers}/{payments}", file=sys.stderr, flush=True)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join("-" * w for w in widths) + " |"
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print(line)
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
