"""chargebacks: a reversal the card processor reports (its settlement report's
"chargeback" lines) is asked for by nobody on our staff, so an approval request's
requester may be empty (the processor's report asked)

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-08 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("approval_requests") as batch_op:
        batch_op.alter_column("requested_by_id", existing_type=_ID, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("approval_requests") as batch_op:
        batch_op.alter_column("requested_by_id", existing_type=_ID, nullable=False)
