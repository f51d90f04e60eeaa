"""rate-limit windows forgotten: their keys held what people typed (account numbers,
usernames, references, addresses) in the clear, a card number among them if one was
typed; keys are HMACs from now on (shared.rate_limit.key_of)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 12:00:00

Windows last fifteen minutes to an hour: forgetting them all lets at most one window's
worth of attempts through again, once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM rate_limit_windows")


def downgrade() -> None:
    # Nothing to put back: the counts start again either way.
    pass
