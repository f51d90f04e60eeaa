from __future__ import annotations

from collections.abc import Iterator

import httpx
import jinja2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient

from shared.config import Settings
from shared.models import Department
from shared.models.web_session import WebSession
from shared.web.csrf import CSRFMiddleware, csrf_token
from shared.web.endpoint import fragment_or_page, page, writes_on_get
from shared.web.errors import exception_handlers
from shared.web.request_id import RequestIdMiddleware
from shared.web.security import DEFAULT_CSP, SecurityHeadersMiddleware
from shared.web.sessions import ServerSessionMiddleware
from tests.conftest import Database
from tests.support.live_server import serving

TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.DictLoader(
            {
                "search.html": (
                    "<html><h1>{{ title }}</h1>"
                    '<div id="results">{% block results %}{{ count }} for {{ q }}'
                    "{% endblock %}</div></html>"
                ),
                "includes/results.html": "<p>{{ count }} for {{ q }}</p>",
            }
        ),
        autoescape=True,
    ),
    context_processors=[lambda request: {"title": "Search"}],
)


@page
def add_department(request: Request, db: Session) -> Response:
    form = request.state.form
    db.add(Department(code=form["code"], name=form["name"]))
    db.flush()
    if form.get("then") == "crash":
        raise RuntimeError("after the insert")
    if form.get("then") == "refuse":
        raise HTTPException(400, "That code is taken.")
    return PlainTextResponse("added", status_code=201)


@page
def add_on_get(request: Request, db: Session) -> Response:
    db.add(Department(code="GET", name="written by a read"))
    db.flush()
    return PlainTextResponse(f"form has {len(request.state.form)} fields")


@page
def add_unflushed_on_get(request: Request, db: Session) -> Response:
    db.add(Department(code="GET", name="left behind by a read"))
    return PlainTextResponse("added")


@page
@writes_on_get
def payment_return(request: Request, db: Session) -> Response:
    db.add(Department(code="RET", name="kept by a GET that says it writes"))
    db.commit()
    return PlainTextResponse("kept")


@page
def search(request: Request, db: Session) -> Response:
    q = request.query_params.get("q", "")
    count = len(db.scalars(select(Department).where(Department.code == q)).all())
    partial = request.query_params.get("partial", "results")
    return fragment_or_page(request, TEMPLATES, "search.html", partial, {"q": q, "count": count})


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = Starlette(
        routes=[
            Route("/departments", add_department, methods=["POST"]),
            Route("/read", add_on_get),
            Route("/return", payment_return),
            Route("/read-unflushed", add_unflushed_on_get),
            Route("/search", search),
        ],
        exception_handlers=exception_handlers(),
    )
    app.state.db = factory
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def codes(factory: sessionmaker[Session]) -> list[str]:
    with factory() as db:
        return list(db.scalars(select(Department.code).order_by(Department.code)))


def test_a_post_that_succeeds_is_committed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    response = client.post("/departments", data={"code": "TAX", "name": "Taxes"})

    assert response.status_code == 201
    assert codes(factory) == ["TAX"]


def test_a_post_whose_view_raises_is_rolled_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    response = client.post("/departments", data={"code": "TAX", "name": "T", "then": "crash"})

    assert response.status_code == 500
    assert "after the insert" not in response.text
    assert codes(factory) == []


def test_an_http_error_from_the_view_rolls_back_and_shows_the_page(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    response = client.post("/departments", data={"code": "TAX", "name": "T", "then": "refuse"})

    assert response.status_code == 400
    assert "That code is taken." in response.text
    assert codes(factory) == []


def test_a_get_never_writes(client: TestClient, factory: sessionmaker[Session]) -> None:
    response = client.get("/read")

    # A view that writes on a GET by mistake fails loudly, and nothing is written,
    # even when it leaves the write for a flush that never comes.
    assert response.status_code == 500
    assert client.get("/read-unflushed").status_code == 500
    assert codes(factory) == []


def test_a_get_that_says_it_writes_keeps_what_it_commits(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    assert client.get("/return").text == "kept"
    assert codes(factory) == ["RET"]


def test_a_normal_request_gets_the_whole_page(client: TestClient) -> None:
    response = client.get("/search", params={"q": "TAX"})

    assert response.text == '<html><h1>Search</h1><div id="results">0 for TAX</div></html>'
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_gets_only_the_block(client: TestClient) -> None:
    response = client.get("/search", params={"q": "<b>"}, headers={"HX-Request": "true"})

    assert response.text == "0 for &lt;b&gt;"
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_gets_a_partial_template(client: TestClient) -> None:
    response = client.get(
        "/search",
        params={"q": "TAX", "partial": "includes/results.html"},
        headers={"HX-Request": "true"},
    )

    assert response.text == "<p>0 for TAX</p>"


def test_a_boosted_link_gets_the_whole_page(client: TestClient) -> None:
    response = client.get(
        "/search", params={"q": "TAX"}, headers={"HX-Request": "true", "HX-Boosted": "true"}
    )

    assert response.text.startswith("<html>")


@page
def new_department(request: Request, db: Session) -> Response:
    return PlainTextResponse(csrf_token(request))


@page
def create_department(request: Request, db: Session) -> Response:
    form = request.state.form
    db.add(Department(code=form["code"], name=form["name"]))
    return RedirectResponse(request.url_for("department", code=form["code"]), status_code=303)


@page
def show_department(request: Request, db: Session) -> Response:
    code = request.path_params["code"]
    department = db.scalars(select(Department).where(Department.code == code)).one()
    return PlainTextResponse(department.name)


@pytest.mark.slow
def test_the_whole_stack_behind_a_real_server(fresh_database: Database) -> None:
    factory = fresh_database.sessionmaker()
    app = Starlette(
        routes=[
            Route("/departments/new", new_department),
            Route("/departments", create_department, methods=["POST"]),
            Route("/departments/{code}", show_department, name="department"),
        ],
        middleware=[
            Middleware(
                ServerSessionMiddleware,
                factory=factory,
                settings=Settings(secret_key="test", secure_cookies=False),
            ),
            Middleware(CSRFMiddleware),
        ],
        exception_handlers=exception_handlers(),
    )
    app.state.db = factory
    served = RequestIdMiddleware(SecurityHeadersMiddleware(app, csp=DEFAULT_CSP, hsts=False))
    with serving(served) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as browser:
        token = browser.get("/departments/new").text
        # Large enough that uvicorn hands the body over in several chunks.
        form = {"code": "TAX", "name": "Taxes", "notes": "n" * 300_000}

        refused = browser.post("/departments", data=form)
        created = browser.post("/departments", data=form | {"csrf_token": token})
        shown = browser.get(created.headers["location"])

    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert created.status_code == 303
    assert shown.text == "Taxes"
    assert shown.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert shown.headers["X-Request-ID"] != created.headers["X-Request-ID"]
    assert codes(factory) == ["TAX"]
    with factory() as db:
        assert len(db.scalars(select(WebSession)).all()) == 1
