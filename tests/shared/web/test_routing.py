"""`{id:int}` takes at most 18 digits: a longer id is a 404, never an overflow in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from paydesk.app import create_app
from shared.web.routing import MAX_ID_DIGITS, IdConvertor
from tests.conftest import BACKENDS
from tests.staff.conftest import Console, signed_in
from tests.support.apps import runtime_on_fresh_database

TOO_LONG = "9" * (MAX_ID_DIGITS + 5)


async def echo(request: Request) -> Response:
    return PlainTextResponse(repr(request.path_params["n"]))


def test_an_id_of_up_to_18_digits_matches_and_a_longer_one_does_not() -> None:
    client = TestClient(Starlette(routes=[Route("/n/{n:int}", echo)]))
    assert client.get("/n/" + "9" * MAX_ID_DIGITS).text == "9" * MAX_ID_DIGITS
    assert client.get("/n/7").text == "7"
    assert client.get("/n/" + "9" * (MAX_ID_DIGITS + 1)).status_code == 404
    assert client.get("/n/" + TOO_LONG).status_code == 404


def _int_convertors(routes: list[BaseRoute]) -> Iterator[object]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _int_convertors(route.routes)
        if isinstance(route, Route | Mount):
            for name, convertor in route.param_convertors.items():
                if f"{{{name}:int}}" in route.path:
                    yield convertor


def test_every_route_of_the_app_uses_the_bounded_convertor(tmp_path: Path) -> None:
    with runtime_on_fresh_database("sqlite", tmp_path, secret_key="routing-tests") as runtime:
        convertors = list(_int_convertors(create_app(runtime).routes))
    assert convertors, "no {x:int} route found: is the walk right?"
    assert all(isinstance(c, IdConvertor) for c in convertors)


@pytest.fixture(scope="module", params=BACKENDS)
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("routing")
    with runtime_on_fresh_database(
        request.param, tmp, secret_key="routing-tests", timezone="UTC"
    ) as runtime:
        yield Console(runtime, runtime.factory)


@pytest.mark.parametrize("url", [f"/staff/customers/{TOO_LONG}", f"/staff/interactions/{TOO_LONG}"])
def test_a_staff_page_with_a_huge_id_is_not_found(console: Console, url: str) -> None:
    client, _ = signed_in(console, ["agent"])
    assert client.get(url).status_code == 404
