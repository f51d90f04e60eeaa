"""department_names and fee_type_names: catalog names in other languages, written by an
administrator; invoices.period: the month a bill is for, so "<fee type> — <month>" can
be written in the reader's language

Revision ID: 0025
Revises: 0021
Create Date: 2026-12-08 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "department_names",
        sa.Column(
            "department_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_department_names_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("department_id", "locale", name=op.f("pk_department_names")),
    )
    op.create_table(
        "fee_type_names",
        sa.Column(
            "fee_type_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["fee_type_id"],
            ["fee_types.id"],
            name=op.f("fk_fee_type_names_fee_type_id_fee_types"),
        ),
        sa.PrimaryKeyConstraint("fee_type_id", "locale", name=op.f("pk_fee_type_names")),
    )
    # In place (as 0013): a nullable column, no rebuild of a table others point at.
    with op.batch_alter_table("invoices", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("period", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("period")
    op.drop_table("fee_type_names")
    op.drop_table("department_names")
