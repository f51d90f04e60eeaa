"""New, migrated, throw-away databases for tests and benchmarks: a SQLite file, or a
PostgreSQL schema of its own (so runs never touch each other's tables)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import SessionKeys, make_engine
from shared.migrate import upgrade

POSTGRES_URL = os.environ.get("PAYDESK_TEST_POSTGRES_URL")
# What sessions of tests that build their own sessionmakers key the audit chain and
# rate-limit hashes with (an app's runtime derives its own from its settings).
TEST_KEYS = SessionKeys(audit=b"test-audit-key", lookup=b"test-lookup-key")


def create_database(
    backend: str, tmp: Path, postgres_url: str | None = POSTGRES_URL, revision: str = "head"
) -> tuple[str, str | None]:
    """A new, empty database migrated to `revision`; returns (url, postgres schema or None)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'paydesk-{secrets.token_hex(4)}.db'}"
        upgrade(url, revision)
        return url, None
    if not postgres_url:
        pytest.skip("PostgreSQL not configured: set PAYDESK_TEST_POSTGRES_URL")
    schema = f"pd_test_{secrets.token_hex(6)}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered, revision)
    return rendered, schema


def drop_schema(schema: str | None, postgres_url: str | None = POSTGRES_URL) -> None:
    if schema and postgres_url:
        admin = make_engine(postgres_url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
