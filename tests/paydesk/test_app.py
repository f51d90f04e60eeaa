"""The assembled app's own pages: styled, translated error pages and the favicon."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from tests.support.apps import BASE_URL, runtime_on_fresh_database


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with runtime_on_fresh_database("sqlite", tmp_path_factory.mktemp("app")) as made:
        yield made


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    """A new browser: no language chosen yet."""
    return TestClient(asgi(create_app(runtime)), base_url=BASE_URL, follow_redirects=False)


def _stylesheets_load(client: TestClient, page: str) -> None:
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sheets, "the page is unstyled"
    for href in sheets:
        assert client.get(href).status_code == 200, href


def test_a_missing_page_is_styled_and_in_the_chosen_language(client: TestClient) -> None:
    page = client.get("/no-such-page?lang=fr")
    assert page.status_code == 404
    assert '<html lang="fr">' in page.text
    assert "<h1>Page introuvable</h1>" in page.text
    assert 'class="site-header"' in page.text
    _stylesheets_load(client, page.text)


def test_a_wrong_method_is_styled_and_in_the_browsers_language(client: TestClient) -> None:
    page = client.get("/staff/logout", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert page.status_code == 405
    assert '<html lang="es">' in page.text
    assert "Esta página no se puede usar de esa manera." in page.text
    _stylesheets_load(client, page.text)


def test_the_favicon_is_served(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    home = client.get("/")
    (svg,) = re.findall(r'<link rel="icon" href="([^"]+)"', home.text)
    assert client.get(svg).headers["content-type"].startswith("image/svg+xml")
