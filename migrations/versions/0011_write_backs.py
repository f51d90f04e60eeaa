"""write-backs: each posted payment's paid-status news for an account's source system

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_backs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source_system", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "confirmed", name="writebackstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "outbox_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_write_backs_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_write_backs_outbox_message_id_outbox_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_write_backs_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_backs")),
        sa.UniqueConstraint("payment_id", "account_id", name=op.f("uq_write_backs_payment_id")),
    )
    with op.batch_alter_table("write_backs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_write_backs_account_status", ["account_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("write_backs", schema=None) as batch_op:
        batch_op.drop_index("ix_write_backs_account_status")

    op.drop_table("write_backs")
