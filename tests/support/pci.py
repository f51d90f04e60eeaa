"""Find card numbers where none may be: what `scrub` would have masked, left unmasked.

Text (logs, mail, reports, each value in a database) is scanned with the recogniser `scrub`
uses, `shared.card_numbers.card_numbers`, so "4111 - 1111 - 1111 - 1111" or a number with
no-break spaces is found as surely as an unbroken one. The scan proves that every way to a
file goes through `scrub`; what `scrub` recognises is pinned down by its own tests. A
broader recogniser here would flag the dates and amounts `scrub` rightly leaves alone, and a
scan that cries wolf gets switched off.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, MetaData, select

from shared.card_numbers import card_numbers
from shared.luhn import luhn_valid

_SQLITE_HEADER = b"SQLite format 3\x00"
_UNBROKEN = re.compile(rb"(?<![0-9])[0-9]{13,19}(?![0-9])")
# Hex digests (the audit chain's 64-character hashes) hold Luhn-valid digit runs by chance;
# a card number is never part of a 32+ character run of hex, so those runs are skipped
# (`card_numbers` skips them in text too).
_HEX_DIGEST = re.compile(rb"[0-9a-fA-F]{32,}")


def _starting_like_a_card(numbers: Iterable[str]) -> list[str]:
    # 2-6: Mastercard, Visa, Amex, Discover, JCB, UnionPay. Other digit runs in binary
    # database pages pass Luhn by chance.
    return [digits[:6] + "…" + digits[-4:] for digits in numbers if digits[0] in "23456"]


def _card_numbers_in_text(text: str) -> list[str]:
    return _starting_like_a_card(card.digits for card in card_numbers(text))


def card_numbers_in(data: bytes) -> list[str]:
    """Every card number in `data` (UTF-8 text) that starts like one, shown as 424242…4242."""
    return _card_numbers_in_text(data.decode("utf-8", errors="replace"))


def _unbroken_card_numbers_in(data: bytes) -> list[str]:
    # A database page stores its values back to back ("…10:54:00.724073" then
    # "2026-11-26…", "+1 613 555 7772" then "932 Oak Cres"), so in raw pages a separator
    # cannot be told from the join between two values: only unbroken runs are looked for
    # there (freed pages and the WAL keep old values); the live values are read one by one.
    data = _HEX_DIGEST.sub(lambda m: b"#" * len(m.group()), data)
    runs = (match.group().decode() for match in _UNBROKEN.finditer(data))
    return _starting_like_a_card(digits for digits in runs if luhn_valid(digits))


def _card_numbers_in_values(path: Path) -> list[str]:
    found = []
    # A copy (with its WAL), so that opening it can neither block nor change the original.
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        with contextlib.closing(sqlite3.connect(copy)) as db:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for (table,) in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                for row in db.execute(f"SELECT * FROM {quoted}"):  # noqa: S608 (a table's name)
                    for value in row:
                        if isinstance(value, bytes):
                            found += card_numbers_in(value)
                        elif value is not None:
                            found += _card_numbers_in_text(str(value))
    return found


def card_numbers_in_files(paths: list[Path]) -> dict[str, list[str]]:
    hits = {}
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data.startswith(_SQLITE_HEADER):
            found = _unbroken_card_numbers_in(data) + _card_numbers_in_values(path)
        elif path.name.endswith(("-wal", "-journal", "-shm")):
            found = _unbroken_card_numbers_in(data)
        else:
            found = card_numbers_in(data)
        if found:
            hits[str(path)] = found
    return hits


def card_numbers_in_database(engine: Engine) -> dict[str, list[str]]:
    """Every value of every table, through the database's own driver (PostgreSQL's rows
    cannot be read as a file): {table: card numbers found}, the empty tables left out."""
    tables = MetaData()
    tables.reflect(engine)
    hits = {}
    with engine.connect() as conn:
        for name, table in tables.tables.items():
            found = [
                hit
                for row in conn.execute(select(table))
                for value in row
                if value is not None
                for hit in (
                    card_numbers_in(value)
                    if isinstance(value, bytes)
                    else _card_numbers_in_text(json.dumps(value, default=str, ensure_ascii=False))
                )
            ]
            if found:
                hits[name] = found
    return hits
