from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.config import Settings
from shared.web.csrf import CSRFMiddleware, csrf_token
from shared.web.errors import exception_handlers
from shared.web.sessions import ServerSessionMiddleware

SETTINGS = Settings(secret_key="test", secure_cookies=False)
EXPIRED = "This form has expired"


async def form_page(request: Request) -> Response:
    return PlainTextResponse(csrf_token(request))


async def submit(request: Request) -> Response:
    form = await request.form()
    return JSONResponse({"name": form.get("name")})


async def upload(request: Request) -> Response:
    async with request.form() as form:
        document = form["document"]
        assert isinstance(document, UploadFile)
        content = (await document.read()).decode()
        return JSONResponse({"name": form.get("name"), "document": content})


async def raw(request: Request) -> Response:
    return PlainTextResponse(await request.body())


def make_app(factory: sessionmaker[Session]) -> Starlette:
    return Starlette(
        routes=[
            Route("/form", form_page),
            Route("/submit", submit, methods=["POST"]),
            Route("/upload", upload, methods=["POST"]),
            Route("/raw", raw, methods=["POST", "PUT", "DELETE"]),
            Route("/api/hook", raw, methods=["POST"]),
        ],
        middleware=[
            Middleware(ServerSessionMiddleware, factory=factory, settings=SETTINGS),
            Middleware(CSRFMiddleware, exempt_prefixes=("/api/",), max_body_bytes=64 * 1024),
        ],
        exception_handlers=exception_handlers(),
    )


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(make_app(factory)) as test_client:
        yield test_client


def test_safe_methods_pass_without_a_token(client: TestClient) -> None:
    assert client.get("/form").status_code == 200
    assert client.options("/form").status_code in {200, 405}


def test_a_post_without_a_token_gets_the_friendly_expired_page(client: TestClient) -> None:
    client.get("/form")

    response = client.post("/submit", data={"name": "Ada"})

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert EXPIRED in response.text
    assert "Go back, reload the page and try again." in response.text
    assert "Traceback" not in response.text


def test_a_visitor_without_a_session_is_refused(client: TestClient) -> None:
    assert client.post("/submit", data={"name": "Ada", "csrf_token": "guess"}).status_code == 403


def test_a_wrong_token_is_refused(client: TestClient) -> None:
    client.get("/form")

    response = client.post("/submit", data={"name": "Ada", "csrf_token": "wrong"})

    assert response.status_code == 403
    assert client.post("/raw", headers={"X-CSRF-Token": "wrong"}).status_code == 403


def test_the_form_token_passes_and_the_endpoint_still_reads_the_body(
    client: TestClient,
) -> None:
    token = client.get("/form").text

    response = client.post("/submit", data={"name": "Ada Lovelace", "csrf_token": token})

    assert response.status_code == 200
    assert response.json() == {"name": "Ada Lovelace"}


def test_the_header_token_passes_for_htmx(client: TestClient) -> None:
    token = client.get("/form").text

    response = client.put("/raw", content=b"payload", headers={"X-CSRF-Token": token})

    assert response.status_code == 200
    assert response.text == "payload"
    assert client.delete("/raw", headers={"X-CSRF-Token": token}).status_code == 200


def test_a_multipart_form_with_a_file_passes(client: TestClient) -> None:
    token = client.get("/form").text

    response = client.post(
        "/upload",
        data={"name": "Ada", "csrf_token": token},
        files={"document": ("note.txt", b"proof of payment", "text/plain")},
    )

    assert response.status_code == 200
    assert response.json() == {"name": "Ada", "document": "proof of payment"}


def test_a_multipart_form_without_the_token_is_refused(client: TestClient) -> None:
    client.get("/form")

    response = client.post(
        "/upload", data={"name": "Ada"}, files={"document": ("n.txt", b"x", "text/plain")}
    )

    assert response.status_code == 403


def test_the_token_stays_the_same_for_the_session(client: TestClient) -> None:
    assert client.get("/form").text == client.get("/form").text


def test_exempt_prefixes_pass_without_a_token(client: TestClient) -> None:
    response = client.post("/api/hook", content=b'{"event": "paid"}')

    assert response.status_code == 200
    assert response.text == '{"event": "paid"}'


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    token = client.get("/form").text

    response = client.post("/submit", data={"name": "x" * 70_000, "csrf_token": token})

    assert response.status_code == 413
    assert "Traceback" not in response.text


def test_a_streamed_body_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    client.get("/form")
    chunks = (b"name=" + b"x" * 10_000 for _ in range(10))

    response = client.post(
        "/submit",
        content=chunks,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413


def test_a_broken_multipart_body_is_a_400_not_a_crash(client: TestClient) -> None:
    client.get("/form")

    response = client.post(
        "/submit",
        content=b"not multipart at all",
        headers={"Content-Type": "multipart/form-data; boundary=zzz"},
    )

    assert response.status_code == 400
    assert "Traceback" not in response.text


def test_a_json_client_is_refused_in_json(client: TestClient) -> None:
    client.get("/form")

    response = client.post("/raw", json={"a": 1}, headers={"Accept": "application/json"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
