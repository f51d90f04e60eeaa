"""push API: integration clients (OAuth2 client credentials for back-end systems, the
secret hashed, scopes and an optional department), and the source system's version of
each account and bill last pushed, so an older update never overwrites a newer one

Revision ID: 0080
Revises: 0070
Create Date: 2026-12-08 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0080"
down_revision: str | None = "0070"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "integration_clients",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("secret_hash", sa.String(length=200), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("department_id", _ID, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", shared.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_integration_clients_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_integration_clients_client_id")),
    )
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("source_version", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.add_column(sa.Column("source_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.drop_column("source_version")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("source_version")
    op.drop_table("integration_clients")
