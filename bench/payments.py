"""Committed payments per second through the full service (audit + receipt + outbox),
beside the floor: a bare transaction inserting the same number of rows.

    .venv/bin/python bench/payments.py [--payments 2000] [--postgres URL] [--write-back]

Each payment pays two bills in two departments in cash with an email address
(so it writes the outbox too). With --write-back the water account belongs to another
system, so each payment also queues a write-back (a row and an outbox message).
Concurrency is spread over up to 4 processes so Python's GIL is not what is measured.
Beside each rate, the CPU the whole machine spent per payment (clients and database
together, from /proc/stat): with the database on the same machine, cores / that figure
is the most this machine can do. Prints a table; record it in RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.actors import Actor, ActorType
from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from shared.models import AuditEvent, OutboxMessage, Payment, Tender, WriteBack
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.support.databases import create_database, drop_schema

CASHIER = Actor(ActorType.STAFF, "bench")
# The keys `paydesk` itself would use here, so the audit trail it writes verifies.
KEYS = Settings().keys()
floor_meta = MetaData()
floor_rows = Table(
    "bench_floor", floor_meta, Column("id", Integer, primary_key=True), Column("v", String(64))
)


def make_bills(url: str, pairs: int, water_system: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    with make_sessionmaker(engine, KEYS)() as db:
        tax, water = factories.department(db, name="Tax"), factories.department(db, name="Water")
        tax_fee, water_fee = factories.fee_type(db, tax), factories.fee_type(db, water)
        out = []
        for _ in range(pairs):
            cust = factories.customer(db)
            a = factories.invoice(db, factories.account(db, cust, tax), tax_fee, 100_000)
            water_account = factories.account(db, cust, water)
            water_account.source_system = water_system
            b = factories.invoice(db, water_account, water_fee, 9_000)
            out.append((a.invoice_number, b.invoice_number))
        db.commit()
    engine.dispose()
    return out


def _connect_all(engine: Engine, threads: int) -> None:
    """Open the pool's connections now, so connecting is not timed as work."""
    connections = [engine.connect() for _ in range(threads)]
    for connection in connections:
        connection.close()


def _pay_worker(
    url: str, bills: list[tuple[str, str]], threads: int, start: Barrier, out: Queue[int]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(url, pool_size=threads, max_overflow=0)
    factory = make_sessionmaker(engine, KEYS)

    def pay(pair: tuple[str, str]) -> None:
        request = PaymentRequest(
            items=(Item(pair[0]), Item(pair[1])),
            tender=Tender.CASH,
            channel="counter",  # type: ignore[arg-type]
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=109_000,
            payer_email="payer@example.org",
        )
        with factory() as session:
            take_payment(session, None, request, CASHIER)  # type: ignore[arg-type]

    _connect_all(engine, threads)
    start.wait()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(pay, bills))
    engine.dispose()
    out.put(len(bills))


def _floor_worker(
    url: str, n: int, rows: int, threads: int, start: Barrier, out: Queue[int]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(url, pool_size=threads, max_overflow=0)

    def one(_: int) -> None:
        with engine.begin() as conn:
            conn.execute(insert(floor_rows), [{"v": "x" * 40} for _ in range(rows)])

    _connect_all(engine, threads)
    start.wait()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(n)))
    engine.dispose()
    out.put(n)


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine (clients and database) has been busy, from
    /proc/stat; None where there is no /proc."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, *_ = (
                int(n) for n in stat.readline().split()[1:]
            )
    except OSError:
        return None
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Rate:
    per_second: float
    cpu_ms_each: float | None  # machine CPU (all cores) per unit of work


def run(target: Callable[..., None], concurrency: int, jobs: list[tuple[object, ...]]) -> Rate:
    # The clock starts when every process has opened its connections (all meet at `start`).
    start: Barrier = mp.Barrier(len(jobs) + 1)
    out: Queue[int] = mp.Queue()
    procs = [mp.Process(target=target, args=(*job, start, out)) for job in jobs]
    for p in procs:
        p.start()
    start.wait()
    busy = _busy_seconds()
    began = time.perf_counter()
    done = sum(out.get() for _ in procs)
    elapsed = time.perf_counter() - began
    busy_after = _busy_seconds()
    for p in procs:
        p.join()
    cpu = None if busy is None or busy_after is None else (busy_after - busy) * 1000 / done
    return Rate(done / elapsed, cpu)


def rows_per_payment(url: str) -> int:
    """Rows one payment writes (inserts), measured rather than guessed."""
    engine = make_engine(url)
    with make_sessionmaker(engine, KEYS)() as db:
        payments = db.scalar(select(func.count()).select_from(Payment)) or 1
        events = db.scalar(select(func.count()).select_from(AuditEvent)) or 0
        messages = db.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        write_backs = db.scalar(select(func.count()).select_from(WriteBack)) or 0
    engine.dispose()
    # payment, 2 allocations, idempotency record, 2 history rows, receipt, plus outbox
    # messages, write-backs and audit events (measured) and 4 row updates (2 invoices,
    # 2 accounts).
    measured = (events + messages + write_backs) / payments
    return 1 + 2 + 1 + 2 + 1 + round(measured) + 4


def bench(
    backend: str, pg_url: str | None, payments: int, levels: list[int], write_back: bool
) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in levels:
            url, schema = create_database(
                backend if backend == "sqlite" else "postgres", Path(tmp), pg_url
            )
            bills = make_bills(url, payments, "utility-billing" if write_back else "local")
            procs = min(concurrency, 4)
            threads = max(concurrency // procs, 1)
            chunks = [bills[i::procs] for i in range(procs)]
            rate = run(_pay_worker, concurrency, [(url, c, threads) for c in chunks])
            rows = rows_per_payment(url)
            engine = make_engine(url)
            floor_meta.create_all(engine)
            engine.dispose()
            floor = run(
                _floor_worker, concurrency, [(url, payments // procs, rows, threads)] * procs
            )
            drop_schema(schema, pg_url)
            cpu = "–" if rate.cpu_ms_each is None else f"{rate.cpu_ms_each:.1f}"
            floor_cpu = "–" if floor.cpu_ms_each is None else f"{floor.cpu_ms_each:.2f}"
            label = f"{backend}{' + wb' if write_back else ''}"
            lines.append(
                f"| {label:<15} | {concurrency:>11} | {rate.per_second:>10.0f} | {cpu:>15} "
                f"| {floor.per_second:>17.0f} | {floor_cpu:>15} | {rows:>7} |"
            )
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("PAYDESK_TEST_POSTGRES_URL"))
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument(
        "--write-back",
        action="store_true",
        help="the water accounts belong to another system: each payment queues a write-back",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    print(
        "| database        | concurrency | payments/s | CPU ms/payment  | floor (bare tx)/s "
        "| CPU ms/bare tx  | rows/tx |"
    )
    print(
        "|-----------------|-------------|------------|-----------------|-------------------"
        "|-----------------|---------|"
    )
    bench("sqlite", None, args.payments, levels, args.write_back)
    if args.postgres:
        bench("postgresql", args.postgres, args.payments, levels, args.write_back)


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
