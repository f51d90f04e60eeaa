"""Support references, S-YYYY-NNNNNN: gap-free per year, as receipt numbers are.

The number comes from a per-year counter row bumped with one upsert in the transaction
that creates the request: the row lock serialises writers across processes, and a
request rolled back rolls its number back too, so there is never a gap.
"""

from __future__ import annotations

import functools
from typing import cast

from sqlalchemy import Insert, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.identifiers import support_reference
from shared.models import SupportRequestSequence

SEQUENCES = cast(Table, SupportRequestSequence.__table__)


@functools.cache
def _bump_statement(dialect: str) -> Insert:
    # The first request of a year creates the row, later ones bump it.
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        upsert(SEQUENCES)
        .values(year=bindparam("support_year"), last_number=1)
        .on_conflict_do_update(
            index_elements=["year"], set_={"last_number": SEQUENCES.c.last_number + 1}
        )
        .returning(SEQUENCES.c.last_number)
    )


def next_reference(session: Session, year: int) -> tuple[str, int]:
    """The next reference of `year` and its sequence number, taken in this transaction."""
    connection = session.connection()
    statement = _bump_statement(connection.dialect.name)
    sequence = int(connection.execute(statement, {"support_year": year}).scalar_one())
    return support_reference(year, sequence), sequence
