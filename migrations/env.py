"""Alembic environment: the URL comes from the caller (shared.migrate) or settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import shared.models  # noqa: F401  (registers every table on Base.metadata)
from shared.config import Settings
from shared.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
