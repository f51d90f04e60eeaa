"""kiosk terminals: department scope, OAuth2 client id, one-time enrolment code (hashed,
expiring), enrolment and registration times, in service; the `terminals:view` permission
(kiosk health) and `admin:terminals` granted to the default roles

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-08 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("client_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("enrolment_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("enrolment_expires_at", shared.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("enrolled_at", shared.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("registered_at", shared.db.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("in_service", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_terminals_client_id"), ["client_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_terminals_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
        )
    _grant_new_permissions()


# Written out as shared.permissions says today: a migration never changes.
NEW_PERMISSIONS = {
    "terminals:view": "See the lobby kiosks' health",
    "admin:terminals": "Manage kiosks and counter terminals",
}
GRANTS = {
    "agent": ["terminals:view"],
    "cashier": ["terminals:view"],
    "supervisor": ["terminals:view"],
    "auditor": ["terminals:view"],
    "admin": list(NEW_PERMISSIONS),
}


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
    op.execute(grants.delete().where(grants.c.permission_code == "terminals:view"))
    op.execute(permissions.delete().where(permissions.c.code == "terminals:view"))
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_terminals_department_id_departments"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_terminals_client_id"), type_="unique")
        batch_op.drop_column("in_service")
        batch_op.drop_column("registered_at")
        batch_op.drop_column("enrolled_at")
        batch_op.drop_column("enrolment_expires_at")
        batch_op.drop_column("enrolment_code_hash")
        batch_op.drop_column("client_id")
        batch_op.drop_column("department_id")
