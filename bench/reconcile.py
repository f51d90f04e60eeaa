"""Bank reconciliation at scale: statement lines read and matched with expected deposits
(card settlement batches and counter bags) at 100k, 300k and 1M lines (goal: 1M in at
most 30 s, time growing linearly).

    .venv/bin/python bench/reconcile.py [--sizes 100000 300000 1000000] [--no-parse]

For each size N: N expected deposits (half card settlement batches with their batch ids,
half counter bags with their bag numbers, over 60 business days) and a BAI2 statement of
about N lines, made so that every matching pass has work: a fifth of the lines carry the
deposit's reference, most match by amount and date (booked 0-3 days after the deposit),
2 % are several bags credited together, 2 % are one card batch paid in two credits, 1 %
of deposits never arrive and 1 % of lines are bank charges (breaks). Measured, separately:
reading the BAI2 file with the real parser (`shared.reconciliation.statements.read_bai2`, the
`bai2` package underneath) and the matching (`shared.reconciliation.matching.match`, what
`paydesk` runs after an import). Database writes are not in these figures.
Prints the figures; record them in RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.reconciliation import matching
from shared.reconciliation.statements import read_bai2

WINDOW = 3
BASE = dt.date(2026, 1, 1)


def world(n: int, seed: int = 20) -> tuple[list[matching.Item], list[tuple[dt.date, int, str]]]:
    """N deposits, and the bank's lines (day, signed amount, text) for them."""
    rnd = random.Random(seed)
    deposits: list[matching.Item] = []
    lines: list[tuple[dt.date, int, str]] = []
    i = 0
    while i < n:
        day = BASE + dt.timedelta(days=rnd.randrange(60))
        lag = dt.timedelta(days=rnd.randrange(WINDOW + 1))
        roll = rnd.random()
        card = i % 2 == 0
        ref = f"B-{i:08d}" if card else f"BAG-{i:08d}"
        amount = rnd.randrange(1_000, 5_000_000)
        group = "card" if card else "counter"
        if roll < 0.02 and i + 3 <= n:  # three bags of a day in one credit
            total = 0
            for k in range(3):
                amt = rnd.randrange(1_000, 500_000)
                deposits.append(matching.Item(i + k, day, amt, (f"BAG-{i + k:08d}",), "bag3"))
                total += amt
            lines.append((day + lag, total, "DEPOSIT"))
            i += 3
            continue
        deposits.append(matching.Item(i, day, amount, (ref,), group))
        if roll < 0.04:  # paid in two credits on one day
            part = rnd.randrange(1, amount)
            lines += [(day + lag, part, "PART 1"), (day + lag, amount - part, "PART 2")]
        elif roll < 0.05:
            pass  # never arrives: a break
        elif roll < 0.25:
            lines.append((day + lag, amount, f"DEPOSIT {ref}"))
        else:
            lines.append((day + lag, amount, "DEPOSIT"))
        if rnd.random() < 0.01:
            lines.append((day, -rnd.randrange(100, 5_000), "SERVICE CHARGE"))
        i += 1
    return deposits, lines


def bai2_file(lines: list[tuple[dt.date, int, str]]) -> bytes:
    """One BAI2 file: a group per booking day, one account, each line a 16 record (its
    text continued on an 88 record every tenth line), with the control totals."""
    by_day: dict[dt.date, list[tuple[int, str]]] = {}
    for day, amount, text in lines:
        by_day.setdefault(day, []).append((amount, text))
    out = ["01,BANK,PAYDESK,260101,0600,9001,80,1,2/"]
    file_total = records = 0
    for day in sorted(by_day):
        out.append(f"02,PAYDESK,BANK,1,{day:%y%m%d},2400,CAD,2/")
        out.append("03,123456789,CAD/")
        account: list[str] = []
        total = 0
        for k, (amount, text) in enumerate(by_day[day]):
            code = "495" if amount < 0 else "301"
            account.append(f"16,{code},{abs(amount)},Z,BR{k},,{text}")
            if k % 10 == 0:
                account.append("88,CONTINUED")
            total += abs(amount)
        out += account
        out.append(f"49,{total},{len(account) + 2}/")
        out.append(f"98,{total},1,{len(account) + 4}/")
        file_total += total
        records += len(account) + 4
    out.append(f"99,{file_total},{len(by_day)},{records + 2}/")
    return ("\n".join(out) + "\n").encode()


def run(n: int, parse: bool) -> None:
    deposits, raw = world(n)
    parse_s = 0.0
    if parse:
        data = bai2_file(raw)
        started = time.perf_counter()
        # The parser itself: the 20 MB cap of an upload is not what is measured here.
        parsed = read_bai2(data)
        parse_s = time.perf_counter() - started
        read_lines = [line for s in parsed for line in s.lines]
        assert len(read_lines) == len(raw)
    else:
        read_lines = []
    items = [
        matching.Item(1_000_000_000 + k, day, amount, tuple(text.split()))
        for k, (day, amount, text) in enumerate(raw)
    ]
    started = time.perf_counter()
    found = matching.match(deposits, items, WINDOW)
    match_s = time.perf_counter() - started
    matched_lines = sum(len(f.line_ids) for f in found)
    matched_deposits = sum(len(f.deposit_ids) for f in found)
    print(
        f"{n:>9,} deposits {len(items):>9,} lines | read BAI2 {parse_s:6.2f} s"
        f" | match {match_s:6.2f} s | total {parse_s + match_s:6.2f} s"
        f" | matched {matched_deposits / len(deposits):.1%} of deposits,"
        f" {matched_lines / len(items):.1%} of lines",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--no-parse", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    for n in args.sizes:
        run(n, not args.no_parse)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
