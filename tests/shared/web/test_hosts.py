"""Only our hosts are answered, and absolute URLs come from PAYDESK_BASE_URL alone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from tests import factories
from tests.support.apps import runtime_on_fresh_database

PUBLIC = "https://pay.example.gov"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    # Served over plain HTTP to "testserver" (a TLS proxy in front), known by one more name.
    with runtime_on_fresh_database(
        request.param,
        tmp_path_factory.mktemp("hosts"),
        base_url=PUBLIC,
        allowed_hosts=("testserver", "paydesk.internal"),
    ) as running:
        yield running


def client(runtime: Runtime) -> TestClient:
    return TestClient(asgi(create_app(runtime)), follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "pay.example.gov.evil"])
def test_another_host_is_refused(runtime: Runtime, host: str) -> None:
    answer = client(runtime).get("/", headers={"host": host})
    assert answer.status_code == 400
    assert "evil" not in answer.text
    assert "find" not in answer.text


@pytest.mark.parametrize("host", ["testserver", "paydesk.internal", "pay.example.gov"])
def test_absolute_urls_come_from_the_base_url_whatever_the_host(
    runtime: Runtime, host: str
) -> None:
    browser = client(runtime)
    home = browser.get("/", headers={"host": host})
    assert home.status_code == 200
    assert f'action="{PUBLIC}/find"' in home.text
    assert "http://" not in home.text.replace("http://www.w3.org", "")
    # A redirect after a POST names the base URL too.
    posted = browser.post(
        "/find",
        headers={"host": host},
        data={"csrf_token": _csrf(home.text), "number": "", "factor": ""},
    )
    assert posted.status_code == 422
    assert f'action="{PUBLIC}/find"' in posted.text


def test_a_redirect_names_the_base_url(runtime: Runtime) -> None:
    with runtime.factory() as db:
        (bill,) = factories.bills(db, [2_500])
        number, code = bill.account.account_number, bill.account.access_code or ""
    browser = client(runtime)
    home = browser.get("/", headers={"host": "paydesk.internal"})
    found = browser.post(
        "/find",
        headers={"host": "paydesk.internal"},
        data={"csrf_token": _csrf(home.text), "number": number, "factor": code},
    )
    assert found.status_code == 303
    assert found.headers["location"] == f"{PUBLIC}/basket"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_answer_a_load_balancer_probing_by_address(
    runtime: Runtime, path: str
) -> None:
    answer = client(runtime).get(path, headers={"host": "10.0.0.5:8000"})
    assert answer.status_code == 200
