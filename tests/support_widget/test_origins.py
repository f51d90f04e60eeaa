"""Embedding origins: our portal and the sites in PAYDESK_WIDGET_ORIGINS may use the widget
from a browser; any other site is refused before anything runs; and the script, the
stylesheet and every page of ours carry what the browser needs."""

from __future__ import annotations

import gzip

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from shared.models import SupportRequest
from tests.support.apps import BASE_URL
from tests.support_widget.conftest import EMBEDDER, HX, Widget, form_token

EVIL = "https://evil.example"


@pytest.mark.parametrize("origin", [EMBEDDER, BASE_URL])
def test_an_allowed_origin_may_read_the_answers(browser: TestClient, origin: str) -> None:
    response = browser.get("/support/", headers={**HX, "Origin": origin})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_from_an_allowed_origin(browser: TestClient) -> None:
    response = browser.options(
        "/support/contact",
        headers={
            "Origin": EMBEDDER,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "hx-request,content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == EMBEDDER
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "HX-Request" in response.headers["access-control-allow-headers"]


def test_another_site_is_refused_for_everything(widget: Widget, browser: TestClient) -> None:
    with widget.factory() as db:
        before = db.scalar(select(func.count()).select_from(SupportRequest))
    token = form_token(browser.get("/support/contact", headers=HX).text)
    evil = {"Origin": EVIL, **HX}
    answers = [
        browser.get("/support/", headers=evil),
        browser.options("/support/contact", headers={"Origin": EVIL}),
        browser.post(
            "/support/contact",
            data={
                "name": "X",
                "email": "x@example.com",
                "language": "en",
                "method": "email",
                "message": "spam",
                "form_token": token,
            },
            headers=evil,
        ),
        browser.post("/support/call", data={"form_token": token}, headers=evil),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert all("access-control-allow-origin" not in a.headers for a in answers)
    assert all(a.text == "Forbidden" for a in answers)
    with widget.factory() as db:
        assert db.scalar(select(func.count()).select_from(SupportRequest)) == before


def test_the_script_and_stylesheet_are_served_compressed_with_their_types(
    browser: TestClient,
) -> None:
    script = browser.get("/support/widget.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["content-encoding"] == "gzip"
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "attachShadow" in script.text
    assert "localStorage" not in script.text and "document.cookie" not in script.text
    style = browser.get("/support/widget.css")
    assert style.headers["content-type"].startswith("text/css")
    # The budget: 8 KB minified and gzipped (bench/widget_size.py records the figure).
    assert len(gzip.compress(script.content)) <= 8 * 1024


def test_every_portal_page_carries_the_widget_and_its_fallback_link(browser: TestClient) -> None:
    page = browser.get("/").text
    assert '<script src="http://testserver/support/widget.js" defer></script>' in page
    assert 'id="paydesk-help"' in page and 'href="http://testserver/support/"' in page
    csp = browser.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp


def test_the_help_page_is_never_framed(browser: TestClient) -> None:
    response = browser.get("/support/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
