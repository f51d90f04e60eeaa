"""The kiosk API through the whole app (middleware, security headers, the sandbox
processor), one app per backend per module on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from shared.actors import Actor, ActorType
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.terminals import credentials
from tests import factories
from tests.support.apps import BASE_URL, runtime_on_fresh_database

ADMIN = Actor(ActorType.STAFF, "admin")


@dataclass
class Api:
    runtime: Runtime
    factory: sessionmaker[Session]

    def client(self, address: str = "testclient") -> TestClient:
        app = asgi(create_app(self.runtime))
        return TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(address, 50000))

    @property
    def sandbox(self) -> SandboxGateway:
        assert self.runtime.sandbox is not None
        return self.runtime.sandbox

    def kiosk(self, client: TestClient, **register: Any) -> Kiosk:
        """A registered, enrolled kiosk with a live access token."""
        code = factories.unique("KIOSK")
        with self.factory() as db:
            creds = credentials.provision(
                db,
                ADMIN,
                code=code,
                location=register.pop("location", "City Hall lobby"),
                **register,
            )
            db.commit()
        answer = client.post(
            "/api/v1/oauth/token",
            data={"grant_type": "client_credentials", "scope": "kiosk"},
            auth=(creds.client_id, creds.client_secret),
        )
        assert answer.status_code == 200, answer.text
        return Kiosk(code, creds, answer.json()["access_token"])


@dataclass
class Kiosk:
    code: str
    creds: credentials.Credentials
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("api")
    with runtime_on_fresh_database(request.param, tmp, secret_key="api-tests") as runtime:
        yield Api(runtime, runtime.factory)


@pytest.fixture
def client(api: Api) -> Iterator[TestClient]:
    with api.client() as client:
        yield client


@pytest.fixture
def kiosk(api: Api, client: TestClient) -> Kiosk:
    return api.kiosk(client)
