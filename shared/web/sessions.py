"""Server-side sessions: the browser holds a random id, the database holds the rest.

Only the SHA-256 of the id is stored, so a leaked table cannot be replayed as cookies.
A visitor who stores nothing gets neither a row nor a cookie. Idle and absolute
timeouts are checked on every load; an expired session is deleted and starts empty.
Database work runs in a worker thread so the event loop never waits on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth.access import ACCESS_STAMP, UserPermissions, cached_permissions
from shared.config import Settings
from shared.db import finish_read, read_only_session, transaction, utcnow
from shared.models.staff import StaffUser
from shared.models.web_session import SessionKind, WebSession

COOKIE_NAME = "paydesk_session"
# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)
# token_urlsafe(32) gives 43 characters; anything far longer is not ours.
_MAX_COOKIE_LENGTH = 128


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionData(dict[str, Any]):
    """The session of one request: a dict of JSON values, plus who it belongs to.

    Changes are found by comparing with the loaded state, so nested edits
    (`session["basket"].append(...)`) are saved too.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        kind: SessionKind = SessionKind.CITIZEN,
        staff_user_id: int | None = None,
    ) -> None:
        super().__init__(data or {})
        self.kind = kind
        self.staff_user_id = staff_user_id
        self.accessed = False
        self.renew = False
        self.keep_start = False
        self.ended = False
        # A staff session's user and permissions, read with it (the user detached).
        self.principal: tuple[StaffUser, UserPermissions] | None = None
        self._loaded = self._snapshot()

    def _snapshot(self) -> str:
        return json.dumps([self, self.kind, self.staff_user_id], sort_keys=True)

    @property
    def modified(self) -> bool:
        return self.renew or self.ended or self._snapshot() != self._loaded

    @property
    def empty(self) -> bool:
        return not self and self.staff_user_id is None

    def mark_accessed(self) -> None:
        # Starlette calls this from `request.session`; the response then varies on Cookie.
        self.accessed = True

    def rotate(self, *, keep_start: bool = False) -> None:
        """Give the session a new id, keeping its data: call on login (fixation).

        A sign-in starts the absolute time limit again. With `keep_start` (a new id for a
        session already signed in, e.g. after a password change) the limit still counts
        from when it began: a new id must never make a session live longer.
        """
        self.renew = True
        self.keep_start = self.keep_start or keep_start

    def clear(self) -> None:
        """Log out: delete the stored session and expire the cookie."""
        super().clear()
        self.staff_user_id = None
        self.principal = None
        self.ended = True


def session_of(source: HTTPConnection | Scope) -> SessionData:
    scope = source.scope if isinstance(source, HTTPConnection) else source
    session = scope.get("session")
    if not isinstance(session, SessionData):
        raise RuntimeError("ServerSessionMiddleware must wrap this route")
    return session


def rotate(source: HTTPConnection | Scope, *, keep_start: bool = False) -> None:
    session_of(source).rotate(keep_start=keep_start)


def purge_expired(db: Session, settings: Settings, now: dt.datetime | None = None) -> int:
    """Delete sessions nobody will come back for (the worker runs this now and then)."""
    now = now or utcnow()
    result = db.execute(
        delete(WebSession).where(
            or_(
                WebSession.last_seen_at < now - dt.timedelta(minutes=settings.session_idle_minutes),
                WebSession.created_at < now - dt.timedelta(hours=settings.session_absolute_hours),
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# The session's values, and for a staff session its user and the access stamp: one
# statement for what every staff request needs first.
_LOAD = (
    select(
        WebSession.data,
        WebSession.kind,
        WebSession.staff_user_id,
        WebSession.created_at,
        WebSession.last_seen_at,
        StaffUser,
        ACCESS_STAMP,
    )
    .outerjoin(StaffUser, StaffUser.id == WebSession.staff_user_id)
    .where(WebSession.id_hash == bindparam("id_hash"))
)


@dataclass
class _Loaded:
    """What the request started with, to decide what the response must write."""

    session: SessionData = field(default_factory=SessionData)
    id_hash: str | None = None
    created_at: dt.datetime | None = None
    cookie_sent: bool = False
    touch_due: bool = False


class ServerSessionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        factory: sessionmaker[Session],
        settings: Settings,
        cookie_name: str = COOKIE_NAME,
        skip_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.factory = factory
        self.cookie_name = cookie_name
        self.skip_prefixes = skip_prefixes
        self.idle = dt.timedelta(minutes=settings.session_idle_minutes)
        self.absolute = dt.timedelta(hours=settings.session_absolute_hours)
        # No Max-Age: the cookie dies with the browser, which matters on shared computers.
        self.attributes = "Path=/; HttpOnly; SameSite=Lax" + (
            "; Secure" if settings.secure_cookies else ""
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(self.cookie_name)
        if scope["path"].startswith(self.skip_prefixes):
            # Static files need no session: none is read, written or expired.
            loaded = _Loaded()
        elif cookie and len(cookie) <= _MAX_COOKIE_LENGTH:
            loaded = await anyio.to_thread.run_sync(self._load, cookie)
        else:
            loaded = _Loaded(cookie_sent=cookie is not None)
        scope["session"] = loaded.session

        async def send_with_cookie(message: Message) -> None:
            # Saved before the headers go out: a browser following a redirect at once
            # must find the row already there.
            if message["type"] == "http.response.start":
                if self._unchanged(loaded):
                    set_cookie = self._taken_back(loaded)
                else:
                    set_cookie = await anyio.to_thread.run_sync(self._save, loaded)
                headers = MutableHeaders(scope=message)
                if set_cookie:
                    headers.append("Set-Cookie", set_cookie)
                if loaded.session.accessed or set_cookie:
                    headers.add_vary_header("Cookie")
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, cookie: str) -> _Loaded:
        id_hash = hash_id(cookie)
        now = utcnow()
        db = read_only_session(self.factory)
        try:
            row = db.execute(_LOAD, {"id_hash": id_hash}).first()
            expired = row is not None and (
                now - row.last_seen_at > self.idle or now - row.created_at > self.absolute
            )
            principal = None
            if row is not None and not expired and row.StaffUser is not None:
                principal = row.StaffUser, cached_permissions(db, row.StaffUser, row[-1])
            db.expunge_all()  # the user outlives this read, detached
            finish_read(db)
        finally:
            db.close()
        if row is None:
            return _Loaded(cookie_sent=True)
        if expired:
            with transaction(self.factory) as tx:
                tx.execute(delete(WebSession).where(WebSession.id_hash == id_hash))
            return _Loaded(cookie_sent=True)
        session = SessionData(row.data, kind=row.kind, staff_user_id=row.staff_user_id)
        session.principal = principal
        touch_due = now - row.last_seen_at >= TOUCH_EVERY
        return _Loaded(session, id_hash, row.created_at, cookie_sent=True, touch_due=touch_due)

    @staticmethod
    def _unchanged(loaded: _Loaded) -> bool:
        """Nothing to write, so no worker thread and no database for this response."""
        if loaded.id_hash is None and loaded.session.empty:
            return True  # nothing stored: no row
        return not loaded.session.modified and not loaded.touch_due

    def _taken_back(self, loaded: _Loaded) -> str | None:
        """The Set-Cookie for an unchanged session: a stale cookie (expired, unknown) goes."""
        if loaded.id_hash is None and loaded.session.empty and loaded.cookie_sent:
            return self._expired()
        return None

    def _save(self, loaded: _Loaded) -> str | None:
        """Write what changed; returns the Set-Cookie value the response needs, if any."""
        session, id_hash = loaded.session, loaded.id_hash
        now = utcnow()
        started = now
        if session.keep_start and id_hash is not None and loaded.created_at is not None:
            started = loaded.created_at
        with transaction(self.factory) as db:
            if id_hash and (session.renew or session.ended or session.empty):
                db.execute(delete(WebSession).where(WebSession.id_hash == id_hash))
                id_hash = None
            if session.empty:
                return self._expired()
            if id_hash is None:
                # A new session, or a rotated one: a fresh id, and (unless the rotation
                # keeps it) a fresh absolute limit.
                token = secrets.token_urlsafe(32)
                db.add(
                    WebSession(
                        id_hash=hash_id(token),
                        kind=session.kind,
                        data=dict(session),
                        staff_user_id=session.staff_user_id,
                        created_at=started,
                        last_seen_at=now,
                    )
                )
                return f"{self.cookie_name}={token}; {self.attributes}"
            # An UPDATE, never an insert: if another request ended this session meanwhile
            # ("log out everywhere"), it stays ended.
            values: dict[str, Any] = {"last_seen_at": now}
            if session.modified:
                values |= {
                    "data": dict(session),
                    "kind": session.kind,
                    "staff_user_id": session.staff_user_id,
                }
            db.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(values))
            return None

    def _expired(self) -> str:
        return (
            f"{self.cookie_name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
            f"{self.attributes}"
        )
