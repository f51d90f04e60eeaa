from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.auth.login import end_all_for_user
from shared.config import Settings
from shared.db import utcnow
from shared.models.web_session import SessionKind, WebSession
from shared.web.sessions import ServerSessionMiddleware, purge_expired, rotate, session_of

SETTINGS = Settings(secret_key="test", secure_cookies=False)
COOKIE = "paydesk_session"


async def show(request: Request) -> Response:
    session = session_of(request)
    return JSONResponse({"data": dict(request.session), "staff_user_id": session.staff_user_id})


async def store(request: Request) -> Response:
    request.session.update(request.query_params)
    return Response("stored")


async def append(request: Request) -> Response:
    request.session.setdefault("basket", [])
    request.session["basket"].append(request.query_params["item"])
    return Response("added")


async def login(request: Request) -> Response:
    rotate(request)
    session = session_of(request)
    session.kind = SessionKind.STAFF
    session.staff_user_id = int(request.query_params["user"])
    return Response("logged in")


async def new_id(request: Request) -> Response:
    # What a password change does: a new id for a session already signed in.
    rotate(request, keep_start=True)
    return Response("new id")


async def logout(request: Request) -> Response:
    request.session.clear()
    return Response("logged out")


def make_app(factory: sessionmaker[Session], settings: Settings = SETTINGS) -> Starlette:
    return Starlette(
        routes=[
            Route("/show", show),
            Route("/store", store),
            Route("/append", append),
            Route("/login", login),
            Route("/new-id", new_id),
            Route("/logout", logout),
            Route("/static/app.css", show),
        ],
        middleware=[
            Middleware(
                ServerSessionMiddleware,
                factory=factory,
                settings=settings,
                skip_prefixes=("/static/",),
            )
        ],
    )


@pytest.fixture
def client(factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(make_app(factory)) as test_client:
        yield test_client


def rows(factory: sessionmaker[Session]) -> list[WebSession]:
    with factory() as db:
        return list(db.scalars(select(WebSession)))


def age(factory: sessionmaker[Session], **ago: dt.timedelta) -> None:
    with factory() as db:
        db.execute(update(WebSession).values({k: utcnow() - v for k, v in ago.items()}))
        db.commit()


def test_a_visitor_who_stores_nothing_gets_no_cookie_and_no_row(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    response = client.get("/show")

    assert response.json()["data"] == {}
    assert "set-cookie" not in response.headers
    assert rows(factory) == []


def test_storing_creates_a_row_keyed_by_the_hash_of_the_cookie(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    response = client.get("/store", params={"lang": "fr"})

    cookie = client.cookies[COOKIE]
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    assert "Path=/" in set_cookie
    assert "Secure" not in set_cookie
    assert "Cookie" in response.headers["vary"]
    [row] = rows(factory)
    assert row.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert cookie not in (row.id_hash, str(row.data))
    assert row.data == {"lang": "fr"}
    assert row.kind == SessionKind.CITIZEN
    assert client.get("/show").json()["data"] == {"lang": "fr"}


def test_the_cookie_is_secure_when_settings_say_so(factory: sessionmaker[Session]) -> None:
    app = make_app(factory, SETTINGS.with_(secure_cookies=True))
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/store", params={"a": "1"})

        assert "Secure" in response.headers["set-cookie"]
        assert client.get("/show").json()["data"] == {"a": "1"}


def test_nested_changes_are_saved(client: TestClient) -> None:
    client.get("/append", params={"item": "water bill"})
    client.get("/append", params={"item": "dog licence"})

    assert client.get("/show").json()["data"] == {"basket": ["water bill", "dog licence"]}


def test_an_idle_session_ends_and_its_row_is_deleted(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/store", params={"a": "1"})
    age(factory, last_seen_at=dt.timedelta(minutes=SETTINGS.session_idle_minutes, seconds=1))

    response = client.get("/show")

    assert response.json()["data"] == {}
    assert rows(factory) == []
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert COOKIE not in client.cookies


def test_a_session_ends_at_the_absolute_limit_even_when_active(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/store", params={"a": "1"})
    age(factory, created_at=dt.timedelta(hours=SETTINGS.session_absolute_hours, seconds=1))

    assert client.get("/show").json()["data"] == {}
    assert rows(factory) == []


def test_a_session_just_inside_both_limits_is_kept(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/store", params={"a": "1"})
    age(
        factory,
        last_seen_at=dt.timedelta(minutes=SETTINGS.session_idle_minutes - 1),
        created_at=dt.timedelta(hours=SETTINGS.session_absolute_hours, seconds=-60),
    )

    assert client.get("/show").json()["data"] == {"a": "1"}


def test_last_seen_is_written_at_most_once_a_minute(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/store", params={"a": "1"})
    age(factory, last_seen_at=dt.timedelta(seconds=30))
    before = rows(factory)[0].last_seen_at

    client.get("/show")
    assert rows(factory)[0].last_seen_at == before

    age(factory, last_seen_at=dt.timedelta(minutes=2))
    client.get("/show")
    assert utcnow() - rows(factory)[0].last_seen_at < dt.timedelta(seconds=10)


def test_static_files_neither_read_nor_touch_the_session(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/store", params={"a": "1"})
    age(factory, last_seen_at=dt.timedelta(minutes=2))
    before = rows(factory)[0].last_seen_at

    response = client.get("/static/app.css")

    assert response.json()["data"] == {}
    assert "set-cookie" not in response.headers
    assert rows(factory)[0].last_seen_at == before
    client.cookies.set(COOKIE, "made-up")
    assert "set-cookie" not in client.get("/static/app.css").headers


def test_rotate_changes_the_id_and_keeps_the_data(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/store", params={"lang": "es"})
    old_cookie = client.cookies[COOKIE]

    client.get("/login", params={"user": "7"})

    new_cookie = client.cookies[COOKIE]
    assert new_cookie != old_cookie
    [row] = rows(factory)
    assert row.id_hash == hashlib.sha256(new_cookie.encode()).hexdigest()
    assert (row.kind, row.staff_user_id, row.data) == (SessionKind.STAFF, 7, {"lang": "es"})
    assert client.get("/show").json() == {"data": {"lang": "es"}, "staff_user_id": 7}


def test_the_old_id_is_useless_after_rotation(client: TestClient) -> None:
    client.get("/store", params={"lang": "es"})
    old_cookie = client.cookies[COOKIE]
    client.get("/login", params={"user": "7"})

    client.cookies.clear()  # present only the old id, as a thief holding it would
    client.cookies.set(COOKIE, old_cookie)
    assert client.get("/show").json() == {"data": {}, "staff_user_id": None}


def test_a_new_id_for_a_signed_in_session_keeps_its_time_limit(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/login", params={"user": "7"})
    started = dt.timedelta(hours=SETTINGS.session_absolute_hours - 1)
    age(factory, created_at=started)
    before = client.cookies[COOKIE]

    client.get("/new-id")

    assert client.cookies[COOKIE] != before
    [row] = rows(factory)
    assert abs(utcnow() - started - row.created_at) < dt.timedelta(seconds=10)


def test_signing_in_again_starts_the_time_limit_again(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.get("/login", params={"user": "7"})
    age(factory, created_at=dt.timedelta(hours=SETTINGS.session_absolute_hours - 1))

    client.get("/login", params={"user": "7"})

    [row] = rows(factory)
    assert utcnow() - row.created_at < dt.timedelta(seconds=10)


def test_clear_logs_out(client: TestClient, factory: sessionmaker[Session]) -> None:
    client.get("/login", params={"user": "7"})

    response = client.get("/logout")

    assert "Max-Age=0" in response.headers["set-cookie"]
    assert rows(factory) == []
    assert client.get("/show").json() == {"data": {}, "staff_user_id": None}


def test_an_unknown_cookie_is_taken_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.cookies.set(COOKIE, "made-up")

    response = client.get("/show")

    assert response.json()["data"] == {}
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert rows(factory) == []


def test_end_all_for_user_deletes_every_session_of_that_user(
    factory: sessionmaker[Session], db: Session
) -> None:
    app = make_app(factory)
    with TestClient(app) as phone, TestClient(app) as desk, TestClient(app) as other:
        phone.get("/login", params={"user": "7"})
        desk.get("/login", params={"user": "7"})
        other.get("/login", params={"user": "8"})

        assert end_all_for_user(db, 7) == 2
        db.commit()

        assert [row.staff_user_id for row in rows(factory)] == [8]
        assert phone.get("/show").json()["staff_user_id"] is None
        assert desk.get("/show").json()["staff_user_id"] is None
        assert other.get("/show").json()["staff_user_id"] == 8


def test_purge_expired_deletes_only_abandoned_sessions(
    factory: sessionmaker[Session], db: Session
) -> None:
    app = make_app(factory)
    with TestClient(app) as idle, TestClient(app) as active:
        idle.get("/store", params={"who": "idle"})
        age(factory, last_seen_at=dt.timedelta(hours=1))
        active.get("/store", params={"who": "active"})

        assert purge_expired(db, SETTINGS) == 1
        db.commit()

        assert [row.data for row in rows(factory)] == [{"who": "active"}]
