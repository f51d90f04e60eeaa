"""bank reconciliation: imported bank statements and their lines, matches between
lines and deposits; the reconciliation:work permission on the finance role

Revision ID: 0070
Revises: 0060
Create Date: 2026-12-08 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

NEW_PERMISSIONS = {
    "reconciliation:work": "Import bank statements and reconcile them with deposits",
}
GRANTS = {
    "finance": ["reconciliation:work"],
    "admin": list(NEW_PERMISSIONS),
}
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0070"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("statement_id", sa.String(length=80), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column(
            "format",
            sa.Enum("bai2", "camt053", name="statementformat", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("imported_by_id", BIG_ID, nullable=True),
        sa.Column("imported_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["staff_users.id"],
            name=op.f("fk_bank_statements_imported_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint("account", "statement_id", name=op.f("uq_bank_statements_account")),
    )
    op.create_index(
        op.f("ix_bank_statements_file_sha256"), "bank_statements", ["file_sha256"], unique=False
    )
    op.create_table(
        "reconciliation_matches",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reference", "amount", "grouped", "manual", name="matchkind", native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("matched_by_id", BIG_ID, nullable=True),
        sa.Column("matched_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matched_by_id"],
            ["staff_users.id"],
            name=op.f("fk_reconciliation_matches_matched_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_matches")),
    )
    op.create_table(
        "bank_lines",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("statement_id", BIG_ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("type_code", sa.String(length=10), nullable=False),
        sa.Column("bank_reference", sa.String(length=80), nullable=False),
        sa.Column("customer_reference", sa.String(length=80), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("match_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
            name=op.f("fk_bank_lines_statement_id_bank_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["reconciliation_matches.id"],
            name=op.f("fk_bank_lines_match_id_reconciliation_matches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_lines")),
    )
    op.create_index(op.f("ix_bank_lines_statement_id"), "bank_lines", ["statement_id"])
    op.create_index("ix_bank_lines_unmatched", "bank_lines", ["match_id", "booking_date"])
    op.create_table(
        "deposit_matches",
        sa.Column("deposit_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("match_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["deposit_id"], ["deposits.id"], name=op.f("fk_deposit_matches_deposit_id_deposits")
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["reconciliation_matches.id"],
            name=op.f("fk_deposit_matches_match_id_reconciliation_matches"),
        ),
        sa.PrimaryKeyConstraint("deposit_id", name=op.f("pk_deposit_matches")),
    )
    op.create_index(op.f("ix_deposit_matches_match_id"), "deposit_matches", ["match_id"])
    _grant_new_permissions()


def _grant_new_permissions() -> None:
    permissions = sa.table("permissions", sa.column("code"), sa.column("description"))
    roles = sa.table("roles", sa.column("id"), sa.column("name"))
    grants = sa.table("role_permissions", sa.column("role_id"), sa.column("permission_code"))
    bind = op.get_bind()
    known = set(bind.scalars(sa.select(permissions.c.code)))
    if not known:
        return  # a new database: the catalogue is made whole with the default roles
    op.bulk_insert(
        permissions,
        [{"code": c, "description": d} for c, d in NEW_PERMISSIONS.items() if c not in known],
    )
    for name, codes in GRANTS.items():
        role_id = bind.scalar(sa.select(roles.c.id).where(roles.c.name == name))
        if role_id is None:
            continue
        held = set(
            bind.scalars(sa.select(grants.c.permission_code).where(grants.c.role_id == role_id))
        )
        missing = [c for c in codes if c not in held]
        if missing:
            op.bulk_insert(grants, [{"role_id": role_id, "permission_code": c} for c in missing])


def downgrade() -> None:
    op.drop_index(op.f("ix_deposit_matches_match_id"), table_name="deposit_matches")
    op.drop_table("deposit_matches")
    op.drop_index("ix_bank_lines_unmatched", table_name="bank_lines")
    op.drop_index(op.f("ix_bank_lines_statement_id"), table_name="bank_lines")
    op.drop_table("bank_lines")
    op.drop_table("reconciliation_matches")
    op.drop_index(op.f("ix_bank_statements_file_sha256"), table_name="bank_statements")
    op.drop_table("bank_statements")
    op.execute(
        sa.text("DELETE FROM role_permissions WHERE permission_code = 'reconciliation:work'")
    )
    op.execute(sa.text("DELETE FROM permissions WHERE code = 'reconciliation:work'"))
