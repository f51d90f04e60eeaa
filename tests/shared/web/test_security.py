from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.web.errors import exception_handlers
from shared.web.security import DEFAULT_CSP, SecurityHeadersMiddleware, csp_header


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def own_policy(request: Request) -> Response:
    return PlainTextResponse("sandbox", headers={"Content-Security-Policy": "default-src 'self'"})


def make_client(hsts: bool = True) -> TestClient:
    app = Starlette(
        routes=[
            Route("/", hello),
            Route("/widget/help", hello),
            Route("/sandbox-gateway/pay", own_policy),
        ],
        exception_handlers=exception_handlers(),
    )
    return TestClient(
        SecurityHeadersMiddleware(
            app, csp=DEFAULT_CSP, frame_exempt_prefixes=("/widget/",), hsts=hsts
        )
    )


def test_the_policy_dict_becomes_the_header() -> None:
    assert csp_header({"default-src": ["'none'"], "img-src": ["'self'", "data:"]}) == (
        "default-src 'none'; img-src 'self' data:"
    )
    assert csp_header({"upgrade-insecure-requests": []}) == "upgrade-insecure-requests"


def test_the_default_policy_is_strict() -> None:
    header = csp_header(DEFAULT_CSP)

    assert header.startswith("default-src 'none'; base-uri 'self'; form-action 'self'")
    assert "frame-ancestors 'none'" in header
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header


def test_every_response_has_the_headers() -> None:
    client = make_client()
    for response in (client.get("/"), client.get("/missing"), client.post("/")):
        headers = response.headers
        assert headers["Content-Security-Policy"] == csp_header(DEFAULT_CSP)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Permissions-Policy"] == (
            "camera=(), microphone=(), geolocation=(), payment=()"
        )
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_hsts_can_be_left_out() -> None:
    assert "Strict-Transport-Security" not in make_client(hsts=False).get("/").headers


def test_widget_pages_may_be_framed() -> None:
    response = make_client().get("/widget/help")

    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors" not in policy
    assert "default-src 'none'" in policy
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_header_the_app_set_is_kept_and_not_duplicated() -> None:
    response = make_client().get("/sandbox-gateway/pay")

    assert response.headers.get_list("Content-Security-Policy") == ["default-src 'self'"]
    assert response.headers["X-Frame-Options"] == "DENY"
