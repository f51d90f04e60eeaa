from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import jinja2
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.web.errors import ErrorPages, exception_handlers
from shared.web.request_id import RequestIdMiddleware
from shared.web.security import DEFAULT_CSP, SecurityHeadersMiddleware

SECRET = "connection to db-7 failed with password hunter2"


async def boom(request: Request) -> Response:
    raise RuntimeError(SECRET)


async def limited(request: Request) -> Response:
    raise HTTPException(429, headers={"Retry-After": "60"})


async def no_invoice(request: Request) -> Response:
    raise HTTPException(404, detail="No invoice <b>INV-1</b> was found.")


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def make_app(handlers: object = None) -> RequestIdMiddleware:
    app = Starlette(
        routes=[
            Route("/boom", boom),
            Route("/api/boom", boom),
            Route("/limited", limited),
            Route("/invoice", no_invoice),
            Route("/hello", hello),
        ],
        exception_handlers=exception_handlers() if handlers is None else handlers,  # type: ignore[arg-type]
    )
    # The wiring shared/web/__init__.py documents: these two outside Starlette's own layers.
    return RequestIdMiddleware(SecurityHeadersMiddleware(app, csp=DEFAULT_CSP))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def reference(page: str) -> str:
    found = re.search(r"<code>([^<]+)</code>", page)
    assert found, page
    return found.group(1)


def test_a_missing_page_is_the_friendly_404_with_a_request_id(client: TestClient) -> None:
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text
    assert '<html lang="en">' in response.text
    assert reference(response.text) == response.headers["X-Request-ID"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_crash_is_a_500_page_without_the_exception_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="shared.web.errors"):
        response = client.get("/boom")

    assert response.status_code == 500
    assert SECRET not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert "Sorry, something went wrong" in response.text
    request_id = response.headers["X-Request-ID"]
    assert reference(response.text) == request_id
    # The page still carries the security headers: they wrap Starlette's crash layer.
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    [record] = [r for r in caplog.records if r.name == "shared.web.errors"]
    assert record.request_id == request_id  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])


def test_an_api_error_is_json(client: TestClient) -> None:
    response = client.get("/api/missing")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_an_api_crash_is_json_without_the_exception_text(client: TestClient) -> None:
    response = client.get("/api/boom")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_server_error"
    assert SECRET not in response.text


def test_a_client_asking_for_json_gets_json(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"Accept": "application/json"})

    assert response.json()["error"]["code"] == "not_found"


def test_a_browser_gets_html_even_though_it_accepts_anything(client: TestClient) -> None:
    response = client.get(
        "/nowhere", headers={"Accept": "text/html,application/json;q=0.9,*/*;q=0.8"}
    )

    assert response.headers["content-type"].startswith("text/html")


def test_method_not_allowed_keeps_the_allow_header(client: TestClient) -> None:
    response = client.post("/hello")

    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "<h1>" in response.text


def test_too_many_requests_keeps_retry_after(client: TestClient) -> None:
    response = client.get("/limited")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert "Too many attempts" in response.text


def test_a_detail_written_for_the_reader_is_shown_escaped(client: TestClient) -> None:
    response = client.get("/invoice")

    assert response.status_code == 404
    assert "No invoice &lt;b&gt;INV-1&lt;/b&gt; was found." in response.text


def test_the_page_is_in_the_chosen_language(client: TestClient) -> None:
    by_header = client.get("/x", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    client.cookies.set("paydesk_locale", "fr")
    by_cookie = client.get("/x", headers={"Accept-Language": "es"})
    client.cookies.set("paydesk_locale", "xx")
    unknown = client.get("/x")

    assert '<html lang="fr">' in by_cookie.text
    assert '<html lang="es">' in by_header.text
    assert '<html lang="en">' in unknown.text


def test_a_front_can_give_its_own_error_template() -> None:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"errors/error.html": "kiosk {{ status_code }} {{ title }}"}),
        autoescape=True,
    )
    app = make_app(exception_handlers(ErrorPages(env)))
    with TestClient(app) as client:
        assert client.get("/gone").text == "kiosk 404 Page not found"
