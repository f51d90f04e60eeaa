"""The portal through the real app: middleware, sessions, CSRF, the sandbox gateway.

`portal` is one app per backend per module, on a database of its own; tests make
their own bills with `tests.factories`, so they never see each other's data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from tests.support.apps import BASE_URL, runtime_on_fresh_database


@dataclass
class Portal:
    runtime: Runtime
    factory: sessionmaker[Session]
    mail_dir: Path

    def client(self, address: str = "testclient") -> TestClient:
        """A new browser: its own cookies (session, language), from `address`."""
        app = asgi(create_app(self.runtime))
        return TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(address, 50000))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    tmp = tmp_path_factory.mktemp("portal")
    with runtime_on_fresh_database(request.param, tmp, secret_key="portal-tests") as runtime:
        yield Portal(runtime, runtime.factory, runtime.settings.var_dir / "mail")


@pytest.fixture
def client(portal: Portal) -> TestClient:
    return portal.client()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)
