"""Matching bank lines to expected deposits, in memory and in linear time.

Passes, each on what the previous left: a line naming a deposit's reference (bag number,
card batch id) with its amount; one deposit and one line of the same amount, the line
booked on the deposit's business day or up to `window` days after (the earliest deposit
first); all the deposits of one kind on one day in one credit, then all of one day; one
deposit paid in all the lines of one day. Amounts are signed: a card batch that paid back
more than it took is a negative deposit and matches a debit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from shared.models import MatchKind


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    day: dt.date
    amount: int
    refs: tuple[str, ...] = ()
    group: str = ""


@dataclass(frozen=True, slots=True)
class Found:
    deposit_ids: tuple[int, ...]
    line_ids: tuple[int, ...]
    kind: MatchKind


def match(deposits: list[Item], lines: list[Item], window: int) -> list[Found]:
    """The matches between `deposits` and `lines` (each item in at most one)."""
    found: list[Found] = []
    used_d: set[int] = set()
    used_l: set[int] = set()
    span = dt.timedelta(days=window)

    def fits(deposit: Item, line: Item) -> bool:
        return deposit.day <= line.day <= deposit.day + span

    # 1. By reference: the bank line carries the bag number or the batch id.
    by_ref: dict[str, Item] = {}
    for deposit in deposits:
        for ref in deposit.refs:
            by_ref[ref.upper()] = deposit
    for line in lines:
        for token in line.refs:
            named = by_ref.get(token.upper())
            if (
                named is not None
                and named.id not in used_d
                and named.amount == line.amount
                and fits(named, line)
            ):
                used_d.add(named.id)
                used_l.add(line.id)
                found.append(Found((named.id,), (line.id,), MatchKind.REFERENCE))
                break

    # 2. One to one by amount and date: the earliest deposit that fits.
    by_amount: dict[int, list[Item]] = defaultdict(list)
    for deposit in sorted(deposits, key=lambda d: (d.day, d.id)):
        if deposit.id not in used_d:
            by_amount[deposit.amount].append(deposit)
    start: dict[int, int] = defaultdict(int)  # skips the used head of each list
    for line in sorted(lines, key=lambda x: (x.day, x.id)):
        if line.id in used_l:
            continue
        candidates = by_amount.get(line.amount)
        if not candidates:
            continue
        i = start[line.amount]
        while i < len(candidates) and (
            candidates[i].id in used_d or candidates[i].day + span < line.day
        ):
            i += 1
        start[line.amount] = i  # lines come in date order: those are gone for good
        for deposit in candidates[i:]:
            if deposit.day > line.day:
                break
            if deposit.id not in used_d:
                used_d.add(deposit.id)
                used_l.add(line.id)
                found.append(Found((deposit.id,), (line.id,), MatchKind.AMOUNT))
                break

    # 3. Several deposits in one credit: a day's deposits of one kind, then a whole day's.
    for keyed in (True, False):
        groups: dict[tuple[dt.date, str], list[Item]] = defaultdict(list)
        for deposit in deposits:
            if deposit.id not in used_d:
                groups[(deposit.day, deposit.group if keyed else "")].append(deposit)
        sums = {
            key: sum(d.amount for d in members)
            for key, members in groups.items()
            if len(members) > 1
        }
        kinds = sorted({key[1] for key in sums})
        for line in lines:
            if line.id in used_l:
                continue
            for back in range(window + 1):
                day = line.day - dt.timedelta(days=back)
                key = next(
                    (
                        (day, g)
                        for g in kinds
                        if sums.get((day, g)) == line.amount
                        and all(d.id not in used_d for d in groups[(day, g)])
                    ),
                    None,
                )
                if key is not None:
                    members = groups[key]
                    used_d.update(d.id for d in members)
                    used_l.add(line.id)
                    ids = tuple(d.id for d in members)
                    found.append(Found(ids, (line.id,), MatchKind.GROUPED))
                    del sums[key]
                    break

    # 4. One deposit paid in several credits on one day.
    days: dict[dt.date, list[Item]] = defaultdict(list)
    for line in lines:
        if line.id not in used_l:
            days[line.day].append(line)
    day_sums = {day: sum(x.amount for x in members) for day, members in days.items()}
    for deposit in deposits:
        if deposit.id in used_d:
            continue
        for ahead in range(window + 1):
            day = deposit.day + dt.timedelta(days=ahead)
            members = days.get(day, [])
            if (
                len(members) > 1
                and day_sums.get(day) == deposit.amount
                and all(x.id not in used_l for x in members)
            ):
                used_d.add(deposit.id)
                used_l.update(x.id for x in members)
                found.append(Found((deposit.id,), tuple(x.id for x in members), MatchKind.GROUPED))
                del day_sums[day]
                break
    return found
