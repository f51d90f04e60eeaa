"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import shared.models  # noqa: F401  (registers every table)
from shared.db import Base, make_engine
from shared.migrate import upgrade
from tests.conftest import Database


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_an_existing_deployment_gets_the_new_permissions_on_its_default_roles(
    tmp_path: Path,
) -> None:
    """A database made before 0014, with the default roles of that time: after upgrading,
    agents may refresh balances and work the exceptions queue, supervisors approve
    overrides, and an auditor still cannot refresh."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0013")
    engine = make_engine(url)
    before = {"agent": ["customers:view"], "supervisor": ["refunds:approve"], "auditor": []}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO permissions (code, description) VALUES (:c, :c)"),
            [{"c": "customers:view"}, {"c": "refunds:approve"}],
        )
        for name, codes in before.items():
            role_id = conn.execute(
                text("INSERT INTO roles (name, description) VALUES (:n, :n) RETURNING id"),
                {"n": name},
            ).scalar_one()
            for code in codes:
                conn.execute(
                    text("INSERT INTO role_permissions VALUES (:r, :c)"),
                    {"r": role_id, "c": code},
                )
    upgrade(url)
    with engine.connect() as conn:
        granted = {
            (name, code)
            for name, code in conn.execute(
                text(
                    "SELECT r.name, p.permission_code FROM roles r "
                    "JOIN role_permissions p ON p.role_id = r.id"
                )
            )
        }
    engine.dispose()
    assert {("agent", "balances:refresh"), ("agent", "exceptions:work")} <= granted
    assert ("supervisor", "overrides:approve") in granted
    assert not any(name == "auditor" for name, _code in granted)
