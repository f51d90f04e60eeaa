from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, NoMatchFound, Route
from starlette.testclient import TestClient

from shared.web.templating import make_templates

LINKS = [
    ("home", {}),
    ("item", {"item_id": 7}),
    ("item", {"item_id": "7"}),
    ("item", {"item_id": True}),  # equal to 1 but not the same value
    ("item", {"item_id": 1}),
    ("front:page", {"slug": "a b?c"}),
    ("front:inner:leaf", {"lang": "fr", "n": 3}),
    ("front:inner:leaf", {"n": 3, "lang": "fr"}),
    ("files", {"path": "/css/site.css"}),
    ("files", {"path": "css/site.css"}),
]


def _endpoint(request: Request) -> Response:
    return PlainTextResponse("")


def _links(request: Request) -> Response:
    templates = make_templates(Path(request.app.state.tmp))
    template = templates.env.from_string(
        "{% for name, params in links %}{{ url_for(name, **params) }}\n{% endfor %}"
    )
    # Twice: the second time from what the first built.
    html = template.render(request=request, links=LINKS + LINKS)
    starlette = [str(request.url_for(name, **params)) for name, params in LINKS + LINKS]
    assert html.splitlines() == starlette
    return PlainTextResponse(html)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = Starlette(
        routes=[
            Route("/", _endpoint, name="home"),
            Route("/items/{item_id}", _endpoint, name="item"),
            Route("/links", _links),
            Mount("/static", app=_endpoint, name="files"),
            Mount(
                "/front",
                name="front",
                routes=[
                    Route("/pages/{slug}", _endpoint, name="page"),
                    Mount(
                        "/{lang}",
                        name="inner",
                        routes=[Route("/n/{n:int}", _endpoint, name="leaf")],
                    ),
                ],
            ),
        ]
    )
    app.state.tmp = str(tmp_path)
    return TestClient(app, root_path="/city")


def test_url_for_in_templates_builds_the_urls_starlette_builds(client: TestClient) -> None:
    lines = client.get("/links").text.splitlines()

    assert lines[:4] == [
        "http://testserver/city/",
        "http://testserver/city/items/7",
        "http://testserver/city/items/7",
        "http://testserver/city/items/True",
    ]
    assert lines[4] == "http://testserver/city/items/1"
    assert lines[6] == "http://testserver/city/front/fr/n/3"
    assert lines[8] == lines[9] == "http://testserver/city/static/css/site.css"


def test_url_for_in_templates_refuses_unknown_names_and_params(tmp_path: Path) -> None:
    app = Starlette(routes=[Route("/items/{item_id}", _endpoint, name="item")])
    templates = make_templates(tmp_path)
    request = Request({"type": "http", "app": app, "router": app.router, "headers": []})
    for source in ("{{ url_for('nowhere') }}", "{{ url_for('item', id=1) }}"):
        with pytest.raises(NoMatchFound):
            templates.env.from_string(source).render(request=request)
    # A value that cannot be a cache key is still turned into a URL.
    unhashable = templates.env.from_string("{{ url_for('item', item_id=[1]) }}")
    assert unhashable.render(request=request) == str(request.url_for("item", item_id=[1]))
