"""The whole app's runtime on a throw-away database, for tests that drive it over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paydesk.runtime import Runtime, build_runtime
from shared.config import Settings
from tests.support.databases import create_database, drop_schema

BASE_URL = "http://testserver"


@contextmanager
def runtime_on_fresh_database(backend: str, tmp: Path, **settings: object) -> Iterator[Runtime]:
    """A runtime with its own database, sandbox processor, mail folder and files."""
    url, schema = create_database(backend, tmp)
    runtime = build_runtime(
        Settings(
            database_url=url,
            sandbox_gateway_url=f"sqlite:///{tmp / 'sandbox.db'}",
            base_url=BASE_URL,
            secure_cookies=False,
            mail_backend="file",
            var_dir=tmp / "var",
        ).with_(**settings)
    )
    try:
        yield runtime
    finally:
        runtime.close()
        drop_schema(schema)
