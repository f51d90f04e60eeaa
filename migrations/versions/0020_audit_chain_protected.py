"""audit trail protected: keyed hashes from here on (audit_chain_head.keyed_from), and
triggers refusing UPDATE and DELETE on audit_events and any change to the chain head but
moving it forward

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-08 09:00:00

Events already written keep their plain SHA-256 hashes: `keyed_from` is the first event
hashed with the audit key (HMAC), so they still verify as written. Re-keying them here
instead would need the key at migration time and would launder any edit made to them
before: a rewritten chain would come out of the migration looking whole. Left as they
are, they are anchored by the first keyed event, whose HMAC covers the last of them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "the audit trail is append-only"
# A SQLite batch migration that rebuilds one of these tables drops its triggers: recreate
# them (tests/shared/test_audit.py's trigger tests would fail).
SQLITE_TRIGGERS = {
    "audit_events_no_update": "BEFORE UPDATE ON audit_events",
    "audit_events_no_delete": "BEFORE DELETE ON audit_events",
    "audit_chain_head_no_delete": "BEFORE DELETE ON audit_chain_head",
    "audit_chain_head_forward_only": (
        "BEFORE UPDATE ON audit_chain_head WHEN NEW.seq < OLD.seq "
        "OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) "
        "OR NEW.keyed_from <> OLD.keyed_from OR NEW.id <> OLD.id"
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keyed_from", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_chain_head SET keyed_from = seq + 1")
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.alter_column("keyed_from", existing_type=sa.BigInteger(), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
        return
    for name, when in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END")


def _postgres_triggers() -> None:
    # The schema is fixed at creation, as in 0010: a change made under another search_path
    # is refused all the same.
    op.execute(
        "CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path FROM CURRENT AS $$ BEGIN "
        f"RAISE EXCEPTION '{REFUSED}: % on %', TG_OP, TG_TABLE_NAME "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    op.execute(
        "CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path FROM CURRENT AS $$ BEGIN "
        "IF NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) "
        "OR NEW.keyed_from <> OLD.keyed_from OR NEW.id <> OLD.id THEN "
        f"RAISE EXCEPTION '{REFUSED}: the chain head only moves forward' "
        "USING ERRCODE = 'insufficient_privilege'; END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
        "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
    )
    for table in ("audit_events", "audit_chain_head"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()"
        )
    op.execute(
        "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head "
        "FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (
            ("audit_events_append_only", "audit_events"),
            ("audit_events_no_truncate", "audit_events"),
            ("audit_chain_head_no_delete", "audit_chain_head"),
            ("audit_chain_head_no_truncate", "audit_chain_head"),
            ("audit_chain_head_forward_only", "audit_chain_head"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute("DROP FUNCTION audit_head_forward_only()")
        op.execute("DROP FUNCTION refuse_audit_change()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from")
