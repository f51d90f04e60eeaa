"""access stamp: replaced by triggers on every change to roles, role permissions and
role assignments, so staff permissions can be cached per process under it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What grants access. A SQLite batch migration that rebuilds one of these tables drops
# its triggers: recreate them (test_a_change_to_anyone_s_access_is_seen_on_the_next_load
# in tests/shared/auth/test_access.py would fail).
TABLES = ("roles", "role_permissions", "role_assignments")
POSTGRES_STAMP = "gen_random_uuid()::text"
SQLITE_STAMP = "lower(hex(randomblob(16)))"


def upgrade() -> None:
    op.create_table(
        "access_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_stamp")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    stamp = POSTGRES_STAMP if postgres else SQLITE_STAMP
    op.execute(f"INSERT INTO access_stamp (id, stamp) VALUES (1, {stamp})")  # noqa: S608
    if postgres:
        op.execute(
            # The schema is fixed now: a change made under another search_path must
            # still restamp this schema's access_stamp.
            "CREATE FUNCTION restamp_access() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path FROM CURRENT AS $$ "
            f"BEGIN UPDATE access_stamp SET stamp = {stamp}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_restamp_access "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION restamp_access()"
            )
        return
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_restamp_access_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN UPDATE access_stamp SET stamp = {stamp}; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER {table}_restamp_access ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_restamp_access_{event}")
    if postgres:
        op.execute("DROP FUNCTION restamp_access()")
    op.drop_table("access_stamp")
