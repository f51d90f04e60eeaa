"""The general-ledger export's two files, byte for byte: CSV and the fixed-column file
(the layout is documented in the README, "Month end"). Pure functions of the entries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence

from shared.models import GlEntry
from shared.money import Money

# Fixed-column record layout (README "Month end"): (name, width).
DETAIL_LAYOUT = (
    ("record", 1),
    ("date", 8),
    ("entry", 10),
    ("department", 16),
    ("gl_account", 24),
    ("side", 1),
    ("amount", 15),
    ("currency", 3),
    ("memo", 22),
)
RECORD_WIDTH = sum(width for _name, width in DETAIL_LAYOUT)  # 100
CSV_HEADER = (
    "journal_date",
    "entry",
    "source",
    "reference",
    "occurred_on",
    "department",
    "gl_account",
    "debit",
    "credit",
    "currency",
    "memo",
)


class TooLong(Exception):
    """A code does not fit its fixed column (a memo is cut short instead)."""

    def __init__(self, value: str, width: int) -> None:
        super().__init__(f"{value!r} is longer than {width} characters")
        self.value, self.width = value, width


def render_csv(entries: Sequence[GlEntry], codes: dict[int, str], currency: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for entry in entries:
        for line in entry.lines:
            writer.writerow(
                (
                    entry.journal_date.isoformat(),
                    entry.id,
                    entry.source.value,
                    entry.reference,
                    entry.occurred_on.isoformat(),
                    codes.get(line.department_id, "") if line.department_id else "",
                    line.gl_account,
                    Money(line.debit, currency).plain(),
                    Money(line.credit, currency).plain(),
                    currency,
                    line.memo,
                )
            )
    return out.getvalue().encode()


def _field(value: str, width: int, name: str, *, number: bool = False) -> str:
    if len(value) > width:
        if name != "memo":
            raise TooLong(value, width)
        value = value[:width]
    return value.rjust(width, "0") if number else value.ljust(width)


def render_fixed(
    entries: Sequence[GlEntry],
    codes: dict[int, str],
    currency: str,
    first: dt.date,
    last: dt.date,
) -> bytes:
    """Detail records ("D") then one trailer ("T"), 100 ASCII characters and LF each."""
    records = []
    debits = credits = 0
    for entry in entries:
        for line in entry.lines:
            debit = line.debit > 0
            debits += line.debit
            credits += line.credit
            values = {
                "record": "D",
                "date": entry.journal_date.strftime("%Y%m%d"),
                "entry": str(entry.id),
                "department": codes.get(line.department_id, "") if line.department_id else "",
                "gl_account": line.gl_account,
                "side": "D" if debit else "C",
                "amount": str(line.debit if debit else line.credit),
                "currency": currency,
                "memo": line.memo.encode("ascii", "replace").decode(),
            }
            records.append(
                "".join(
                    _field(values[name], width, name, number=name in ("entry", "amount"))
                    for name, width in DETAIL_LAYOUT
                )
            )
    trailer = (
        "T"
        + first.strftime("%Y%m%d")
        + last.strftime("%Y%m%d")
        + str(len(records)).rjust(10, "0")
        + str(debits).rjust(15, "0")
        + str(credits).rjust(15, "0")
        + currency
    )
    records.append(trailer.ljust(RECORD_WIDTH))
    return "".join(f"{record}\n" for record in records).encode("ascii")
