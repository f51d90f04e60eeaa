"""staff_users.sso_issuer and sso_subject: single sign-on finds a user by who they are at
the IdP (the ID token's iss and sub), no longer by a name anyone there could be given

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as 0012: SQLite adds nullable columns and an index without rebuilding
    # staff_users, which foreign keys refuse while anything points at a user. Hence a
    # unique index rather than a unique constraint, which SQLite could only add by a rebuild.
    # Users SSO made before this stay unbound until their next sign-in (shared.auth.oidc).
    with op.batch_alter_table("staff_users", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("sso_issuer", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_staff_users_sso_identity", ["sso_issuer", "sso_subject"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_staff_users_sso_identity")
        batch_op.drop_column("sso_subject")
        batch_op.drop_column("sso_issuer")
