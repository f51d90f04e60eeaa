"""interactions without a customer (a caller not identified yet); an agent's open ones

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.alter_column("customer_id", existing_type=_ID, nullable=True)
        batch_op.create_index("ix_interactions_staff_open", ["staff_user_id", "ended_at"])


def downgrade() -> None:
    # Refuse rather than delete: those interactions hold notes nobody must lose.
    unidentified = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM interactions WHERE customer_id IS NULL")
    )
    if unidentified:
        raise RuntimeError(
            f"{unidentified} interactions have no customer yet: identify their callers "
            "before downgrading below 0009."
        )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_staff_open")
        batch_op.alter_column("customer_id", existing_type=_ID, nullable=False)
