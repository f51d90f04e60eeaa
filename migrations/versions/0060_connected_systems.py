"""connected systems: where each source system's balances come from (local, pull, push),
set by an administrator with the new `admin:integrations` permission; an account keeps
its source's own time for the balance last pulled, so an older answer never overwrites
a newer one; outgoing webhooks: subscriptions (no secret stored: derived per generation)
and their deliveries, each with the body every try sends

Revision ID: 0060
Revises: 0050
Create Date: 2026-12-08 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0060"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "balance_sources",
        sa.Column("system", sa.String(length=40), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("local", "pull", "push", name="sourcemode", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("system", name=op.f("pk_balance_sources")),
    )
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("source_as_of", shared.db.UTCDateTime(), nullable=True))
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("owner_email", sa.String(length=254), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "paused", name="subscriptionstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("secret_generation", sa.Integer(), nullable=False),
        sa.Column("previous_until", shared.db.UTCDateTime(), nullable=True),
        sa.Column("failing_since", shared.db.UTCDateTime(), nullable=True),
        sa.Column("paused_reason", sa.String(length=400), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", _ID, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "delivered",
                "failed",
                "skipped",
                name="deliverystatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=400), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", shared.db.UTCDateTime(), nullable=True),
        sa.Column("round_started_at", shared.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_subscription",
        "webhook_deliveries",
        ["subscription_id", "id"],
        unique=False,
    )
    _grant_new_permissions()


# Written out: a migration never changes, whatever shared.permissions says later.
NEW_PERMISSIONS = {"admin:integrations": "Manage connected systems and webhooks"}
GRANTS = {"admin": list(NEW_PERMISSIONS)}


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
    grants = sa.table("role_permissions", sa.column("permission_code"))
    permissions = sa.table("permissions", sa.column("code"))
    op.execute(grants.delete().where(grants.c.permission_code.in_(list(NEW_PERMISSIONS))))
    op.execute(permissions.delete().where(permissions.c.code.in_(list(NEW_PERMISSIONS))))
    op.drop_index("ix_webhook_deliveries_subscription", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("source_as_of")
    op.drop_table("balance_sources")
