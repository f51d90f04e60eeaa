"""drop staff_users.failed_logins: written at each failed sign-in, read by nothing; a
name's failures are counted in its rate_limit_windows row

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place (SQLite 3.35+ drops a plain column), not a batch copy: rebuilding
    # staff_users drops the table, which foreign keys on (shared.db) refuse while any
    # role assignment, payment or interaction points at a user.
    with op.batch_alter_table("staff_users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
