"""Control characters from the browser get a plain 400 before they reach the database.

PostgreSQL refuses a NUL in a text parameter, so without the guard these are 500s there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import anyio
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from paydesk.app import asgi, create_app
from shared.models import StaffUser
from shared.web.control_characters import NulGuardMiddleware
from shared.web.endpoint import page
from shared.web.errors import exception_handlers
from shared.web.forms import form_text
from tests.conftest import BACKENDS
from tests.support.apps import BASE_URL, runtime_on_fresh_database

ADDRESS_REFUSED = "This address contains a character that is not allowed."
FORM_REFUSED = "The form contains a control character that cannot be saved"


@page
def person(request: Request, db: Session) -> Response:
    name = form_text(request, "name") if request.method == "POST" else request.path_params["name"]
    found = db.scalar(select(StaffUser.id).where(StaffUser.username == name))
    return PlainTextResponse("found" if found else "nobody")


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = Starlette(
        routes=[Route("/people/{name}", person, methods=["GET", "POST"])],
        middleware=[Middleware(NulGuardMiddleware)],
        exception_handlers=exception_handlers(),
    )
    app.state.db = factory
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("url", ["/people/bob%00", "/people/bob?q=%00", "/people/bob?q=a%00b"])
def test_a_nul_in_the_address_is_refused(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert ADDRESS_REFUSED in response.text
    assert client.get("/people/bob?q=%2500").text == "nobody"  # "%00" as text is fine


def test_a_raw_nul_in_the_path_is_refused_too() -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the request reached the app")

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/people/\x00",
        "query_string": b"",
        "headers": [],
    }
    anyio.run(NulGuardMiddleware(app), scope, receive, send)
    assert sent[0]["status"] == 400


@pytest.mark.parametrize("name", ["bob\x00", "bob\x1b[2J", "bob\x0b"])
def test_a_control_character_in_a_form_is_refused(client: TestClient, name: str) -> None:
    response = client.post("/people/x", data={"name": name})
    assert response.status_code == 400
    assert FORM_REFUSED in response.text


def test_tabs_and_line_breaks_are_ordinary_text(client: TestClient) -> None:
    assert client.post("/people/x", data={"name": "a\tb\r\nc"}).text == "nobody"


# -- the whole app -----------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def whole_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("control")
    with runtime_on_fresh_database(request.param, tmp, secret_key="control-tests") as runtime:
        yield TestClient(
            asgi(create_app(runtime)),
            base_url=BASE_URL,
            follow_redirects=False,
            raise_server_exceptions=False,
        )


@pytest.mark.parametrize(
    "url", ["/staff/payments/TX%00", "/staff/login?next=/staff/%00", "/find?lang=%00", "/%00"]
)
def test_every_front_refuses_a_nul_in_the_address(whole_app: TestClient, url: str) -> None:
    response = whole_app.get(url)
    assert response.status_code == 400
    assert ADDRESS_REFUSED in response.text
    assert response.headers["x-request-id"]


def test_programs_get_the_refusal_as_json(whole_app: TestClient) -> None:
    response = whole_app.get("/api/?q=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_characters"


def test_a_portal_form_with_a_nul_is_refused(whole_app: TestClient) -> None:
    form = whole_app.get("/find")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    data = {"csrf_token": token.group(1), "number": "TAX-1\x00", "factor": "K1A 0B1"}
    response = whole_app.post("/find", data=data)
    assert response.status_code == 400
    assert FORM_REFUSED in response.text
