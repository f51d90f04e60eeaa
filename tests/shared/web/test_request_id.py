from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.web.request_id import RequestIdMiddleware, request_id_of, request_id_var


async def echo(request: Request) -> Response:
    return JSONResponse(
        {
            "state": request.state.request_id,
            "var": request_id_var.get(),
            "of": request_id_of(request),
        }
    )


def make_client(trust_incoming: bool = True) -> TestClient:
    app = Starlette(routes=[Route("/", echo)])
    return TestClient(RequestIdMiddleware(app, trust_incoming=trust_incoming))


def test_each_request_gets_an_id_in_state_context_and_response() -> None:
    client = make_client()

    first, second = client.get("/"), client.get("/")

    request_id = first.headers["X-Request-ID"]
    assert first.json() == {"state": request_id, "var": request_id, "of": request_id}
    assert second.headers["X-Request-ID"] != request_id
    assert request_id_var.get() is None


def test_an_id_from_the_proxy_is_kept() -> None:
    response = make_client().get("/", headers={"X-Request-ID": "lb-1234.abcd"})

    assert response.headers["X-Request-ID"] == "lb-1234.abcd"
    assert response.json()["state"] == "lb-1234.abcd"


def test_an_unsafe_or_untrusted_incoming_id_is_replaced() -> None:
    for value in ("<script>", "a" * 65, "two words"):
        response = make_client().get("/", headers={"X-Request-ID": value})
        assert response.headers["X-Request-ID"] != value
    untrusted = make_client(trust_incoming=False).get("/", headers={"X-Request-ID": "lb-1"})
    assert untrusted.headers["X-Request-ID"] != "lb-1"
