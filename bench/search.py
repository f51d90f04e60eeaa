"""Search latency through the real HTTP stack, beside the floor measured in the same run.

    .venv/bin/python bench/search.py            # SQLite: 1M customers, 100k and 1M payments
    .venv/bin/python bench/search.py --sizes 1000000:10000000   # customers:payments, 10M
    .venv/bin/python bench/search.py --sizes 10000:100000       # quicker
    PAYDESK_TEST_POSTGRES_URL=postgresql+psycopg://... .venv/bin/python bench/search.py
    .venv/bin/python bench/search.py --database sqlite:////path/seeded.db \
        --database postgresql+psycopg://user@host/seeded     # already seeded, kept

For each database and size: a fresh database, `paydesk seed`, an agent, the whole
database read into the OS page cache (see `_warm`), then a real `paydesk serve`
(uvicorn) in a subprocess and a signed-in httpx client. With
`--database`, an existing seeded database instead: it is migrated (`upgrade`), the
agent is created or its password reset, pg_prewarm installed if missing (PostgreSQL), and
nothing is seeded or dropped. A SQLite seed needs free disk of about twice the database
(one transaction: its write-ahead log holds everything until the commit).

Each identifier type (customer, account, invoice, receipt number, transaction ID) and
the searches by name (`Resident 12345`), partial name (`resid 1234`: the start of each
word), a name with a typo (`Rseident 12345`: no exact match, so close matches), email and
phone (as typed, `+1 613 555 0199`) are requested N times with random
existing values; p50/p95 are printed beside the floor: GET /healthz on the same server
with the same signed-in client (so it includes the session look-up: the session row, and
for staff the user and the access stamp, in one statement), plus the raw indexed SELECT
timed in Python. Each round times one of each, interleaved: first the identifier
rounds, then the text rounds (name, email, phone), each with its own floors. Each
search's p95 is divided by its rounds' healthz p95 and by the sum. A last table gives
each identifier type's p95 at every size over its p95 at the smallest.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.actors import SYSTEM
from shared.auth.staff_users import create_staff, hasher
from shared.config import Settings
from shared.db import is_sqlite, make_engine, make_sessionmaker, transaction
from shared.migrate import upgrade
from shared.models import StaffUser
from tests.support.databases import create_database, drop_schema

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
AGENT = "bench-agent"
IDENTIFIERS = ("customer", "account", "invoice", "receipt", "transaction")
# Each family is timed in rounds of its own, beside floors measured in those rounds: a
# name search reads many pages, and at 10M payments, interleaved with identifier
# searches, it pushed their pages (and the floor's) out of PostgreSQL's 128 MB of shared
# buffers, so identifier searches were charged for the name searches' footprint.
FAMILIES = {
    "identifier rounds": IDENTIFIERS,
    "text rounds": ("name", "name prefix", "name typo", "email", "phone"),
}


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
        "name prefix": "SELECT name FROM customers WHERE id = :i",
        "name typo": "SELECT name FROM customers WHERE id = :i",
        "email": "SELECT email FROM customers WHERE id = :i",
        "phone": "SELECT phone FROM customers WHERE id = :i",
    }
    with engine.connect() as conn:
        for kind, sql in queries.items():
            table = sql.split("FROM ")[1].split()[0]
            top = int(conn.execute(text(f"SELECT max(id) FROM {table}")).scalar_one())  # noqa: S608
            values: list[str] = []
            while len(values) < n:
                value = conn.execute(text(sql), {"i": random.randint(1, top)}).scalar()
                if value:
                    shaped = {"name prefix": _partial, "name typo": _misspelt}.get(kind, str)
                    values.append(shaped(str(value)))
            out[kind] = values
    engine.dispose()
    return out


def _misspelt(name: str) -> str:
    """The name with two letters of its first word swapped (`Rseident 12345`): nothing
    matches exactly, so the search goes on to close matches (shared/customers/typos)."""
    first, _, rest = name.partition(" ")
    if len(first) >= 3:
        first = first[0] + first[2] + first[1] + first[3:]
    return f"{first} {rest}".strip()


def _partial(name: str) -> str:
    """What someone types who knows the name: the start of each word (`resid 1234`)."""
    return " ".join(word[: max(1, len(word) * 2 // 3)].lower() for word in name.split())


@contextmanager
def _raw_select(url: str) -> Iterator[Callable[[str], float]]:
    """Time one indexed look-up by transaction ID, in this process, as the app runs it."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine, Settings().keys())

    def timed(value: str) -> float:
        with factory() as db:
            start = time.perf_counter()
            db.execute(
                text("SELECT id FROM payments WHERE transaction_id = :t"), {"t": value}
            ).first()
            return time.perf_counter() - start

    try:
        yield timed
    finally:
        engine.dispose()


def _timed(get: Callable[[], httpx.Response], expect: set[int]) -> float:
    start = time.perf_counter()
    response = get()
    elapsed = time.perf_counter() - start
    assert response.status_code in expect, (response.status_code, response.text[:200])
    return elapsed


def _seed(url: str, env: dict[str, str], customers: int, payments: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "paydesk.cli", "seed", "--customers", str(customers),
         "--payments", str(payments), "--quiet"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def _agent(url: str) -> str:
    """Create the bench agent, or give the one an earlier run left a new password."""
    engine = make_engine(url)
    password = secrets.token_hex(12)
    with transaction(make_sessionmaker(engine, Settings().keys())) as db:
        user = db.scalar(select(StaffUser).where(StaffUser.username == AGENT))
        if user is None:
            create_staff(
                db, SYSTEM, username=AGENT, password=password,
                display_name="Bench", roles=["agent"],
            )  # fmt: skip
        else:
            user.password_hash = hasher.hash(password)
            user.active = True
    engine.dispose()
    return password


def _size(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        customers = conn.execute(text("SELECT max(id) FROM customers")).scalar() or 0
        payments = conn.execute(text("SELECT max(id) FROM payments")).scalar() or 0
    engine.dispose()
    return int(customers), int(payments)


def _warm(url: str, drop_caches: bool) -> float | None:
    """Read the whole database into the OS page cache before timing; returns seconds, or
    None when it could not. On PostgreSQL this installs the pg_prewarm extension in the
    database if it is not there (a superuser's right; without it, nothing is warmed).

    Picking the values to search for reads the rows picked, which leaves some of the
    pages a search needs cached and others cold (a receipt search also reads its payment,
    which the picking never touched). Reading everything first gives every kind the same
    start: a database server with the RAM to hold its data. Here a page read from the
    virtual disk took 30-45 µs, from the page cache 3 µs.

    Pages read once are the first the kernel evicts, so a database read once after
    others that were read twice can lose its pages to them; `drop_caches` (root only)
    empties the page cache first, so the database measured is the one cached.
    """
    start = time.perf_counter()
    if drop_caches:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
    if is_sqlite(url):
        database = Path(make_url(url).database or "")
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                with path.open("rb") as file:
                    while file.read(1 << 24):
                        pass
        return time.perf_counter() - start
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            # Wherever it was installed: not always on this database's search path.
            schema = conn.scalar(
                text(
                    "SELECT CAST(extnamespace AS regnamespace) FROM pg_extension "
                    "WHERE extname = 'pg_prewarm'"
                )
            )
            conn.execute(
                text(
                    f"SELECT sum({schema}.pg_prewarm(c.oid, 'read')) FROM pg_class c "  # noqa: S608 - a schema name from the catalog, quoted by regnamespace
                    "WHERE c.relnamespace = current_schema()::regnamespace "
                    "AND c.relkind IN ('r', 'i')"
                )
            )
    except DBAPIError as error:
        print(f"not read into the page cache: {error.orig}", file=sys.stderr)
        return None
    finally:
        engine.dispose()
    return time.perf_counter() - start


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
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
    return server, base


class Measured(NamedTuple):
    backend: str
    payments: int
    rows: list[tuple[str, ...]]  # the table's lines for this database
    p95: dict[str, float]  # ms, by search kind


def measure(url: str, env: dict[str, str], rounds: int, seeded: str, drop_caches: bool) -> Measured:
    """Serve `url`, sign in and time every kind of search beside the floors."""
    start = time.perf_counter()
    upgrade(url)
    migrated = time.perf_counter() - start
    password = _agent(url)
    warmed = _warm(url, drop_caches)
    customers, payments = _size(url)
    backend = "postgres" if url.startswith("postgresql") else "sqlite"
    label = f"{backend} {customers // 1000}k/{payments // 1000}k"
    rows: list[tuple[str, ...]] = []
    p95s: dict[str, float] = {}
    server, base = _serve(env)
    try:
        samples = _samples(url, rounds)
        with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
            _sign_in(client, AGENT, password)
            for _ in range(20):  # warm up connections, caches, the plan cache
                client.get("/healthz")
                client.get("/staff/search", params={"q": samples["transaction"][0]})
            with _raw_select(url) as raw:
                warm = "-" if warmed is None else f"{warmed:.0f}"
                notes = f"{seeded} / {migrated:.0f} / {warm}"
                for family, kinds in FAMILIES.items():
                    wanted = {k: samples[k] for k in kinds}
                    times = _rounds(client, raw, samples["transaction"], wanted, rounds)
                    rows += _rows(label, family, times, notes)
                    p95s |= {kind: _percentiles(times[kind])[1] for kind in kinds}
                    notes = ""
    finally:
        server.terminate()
        server.wait(timeout=30)
    return Measured(backend, payments, rows, p95s)


def _rounds(
    client: httpx.Client,
    raw: Callable[[str], float],
    transactions: list[str],
    samples: dict[str, list[str]],
    rounds: int,
) -> dict[str, list[float]]:
    """Interleaved, one of each per round: the floors and the searches see the machine in
    the same state, so drift (another process, CPU frequency) moves them together
    instead of skewing the ratios."""
    times: dict[str, list[float]] = {k: [] for k in ("healthz", "raw", *samples)}
    for i in range(rounds):
        times["healthz"].append(_timed(lambda: client.get("/healthz"), {200}))
        times["raw"].append(raw(transactions[i]))
        for kind, values in samples.items():
            expect = {303} if kind in IDENTIFIERS else {200}
            get = functools.partial(client.get, "/staff/search", params={"q": values[i]})
            times[kind].append(_timed(get, expect))
    return times


def _rows(
    label: str, family: str, times: dict[str, list[float]], notes: str
) -> list[tuple[str, ...]]:
    """The floors of these rounds, then each search beside them."""
    f50, f95 = _percentiles(times["healthz"])
    r50, r95 = _percentiles(times["raw"])
    # The floor: the no-op route plus the one indexed SELECT a search needs.
    floor95 = f95 + r95
    rows: list[tuple[str, ...]] = [
        (label, f"{family}: GET /healthz", f"{f50:.1f}", f"{f95:.1f}", "1.00", "", notes),
        (label, f"{family}: raw SELECT", f"{r50:.2f}", f"{r95:.2f}", "", "", ""),
        (label, f"{family}: healthz + SELECT", "", f"{floor95:.1f}", "", "1.00", ""),
    ]
    for kind, samples in times.items():
        if kind not in ("healthz", "raw"):
            p50, p95 = _percentiles(samples)
            ratios = (f"{p95 / f95:.2f}", f"{p95 / floor95:.2f}")
            rows.append((label, kind, f"{p50:.1f}", f"{p95:.1f}", *ratios, ""))
    return rows


def run(backend: str, customers: int, payments: int, rounds: int, drop_caches: bool) -> Measured:
    """A fresh database of this size, seeded, measured, then dropped."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    url, schema = create_database(backend, tmp)
    try:
        env = _env(url, tmp)
        seeded = _seed(url, env, customers, payments)
        return measure(url, env, rounds, f"{seeded:.0f}", drop_caches)
    finally:
        drop_schema(schema)
        shutil.rmtree(tmp, ignore_errors=True)  # a 1M-payment SQLite file is ~1 GB


def run_existing(url: str, rounds: int, drop_caches: bool) -> Measured:
    """A database seeded beforehand: migrated and measured, never seeded or dropped."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        return measure(url, _env(url, tmp), rounds, "-", drop_caches)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def _growth(results: list[Measured]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Identifier p95 at the largest size over p95 at the smallest, per database."""
    header = ("database", "search by", "payments", "p95 ms", "p95 / smallest size p95")
    rows: list[tuple[str, ...]] = []
    for backend in dict.fromkeys(r.backend for r in results):
        sized = sorted((r for r in results if r.backend == backend), key=lambda r: r.payments)
        for kind in IDENTIFIERS:
            for result in sized:
                ratio = result.p95[kind] / sized[0].p95[kind]
                rows.append(
                    (
                        backend,
                        kind,
                        f"{result.payments:,}",
                        f"{result.p95[kind]:.1f}",
                        f"{ratio:.2f}",
                    )
                )
    return header, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000000:100000,1000000:1000000",
        help="comma-separated customers:payments",
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--database",
        action="append",
        default=[],
        metavar="URL",
        help="an already seeded database to measure instead (repeatable; migrated, kept)",
    )
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="empty the OS page cache before reading each database in (needs root)",
    )
    args = parser.parse_args()
    if args.drop_caches and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        parser.error("--drop-caches needs root (it writes /proc/sys/vm/drop_caches)")
    header = (
        "database customers/payments",
        "search by",
        "p50 ms",
        "p95 ms",
        "p95 / healthz p95",
        "p95 / floor p95",
        "seed / migrate / warm s",
    )
    results: list[Measured] = []
    for url in args.database:
        results.append(run_existing(url, args.rounds, args.drop_caches))
        print(f"done: {make_url(url).render_as_string()}", file=sys.stderr, flush=True)
    backends = ["sqlite"] + (["postgres"] if os.environ.get("PAYDESK_TEST_POSTGRES_URL") else [])
    sizes = [tuple(int(n) for n in size.split(":")) for size in args.sizes.split(",")]
    for backend in backends if not args.database else []:
        for customers, payments in sizes:
            results.append(run(backend, customers, payments, args.rounds, args.drop_caches))
            print(f"done: {backend} {customers}/{payments}", file=sys.stderr, flush=True)
    _table(header, [row for result in results for row in result.rows])
    print()
    _table(*_growth(results))
    print(
        "\n'p95 / healthz p95' divides by the p95 of GET /healthz on the same server with "
        "the same signed-in client (so it includes the session look-up). The raw SELECT is "
        "one indexed look-up by transaction ID, timed in Python. 'p95 / floor p95' divides "
        "by the sum of the two p95s: the no-op route plus the one indexed SELECT a search "
        "cannot do without."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
