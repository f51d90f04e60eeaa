"""CSRF protection: every state-changing request carries the session's token.

htmx sends it as the `X-CSRF-Token` header (templates put `hx-headers` on <body>);
plain forms, which must work without JavaScript, send a `csrf_token` field. Reading
that field means reading the body here, so it is buffered and replayed to the app.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.i18n import N_
from shared.web.errors import ErrorPages
from shared.web.sessions import session_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_KEY = "csrf_token"
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
MAX_BODY_BYTES = 10 * 1024 * 1024
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token(source: HTTPConnection | Scope) -> str:
    """The session's token, created on first use so a template can always render one."""
    session = session_of(source)
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


class _BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None if the client went away first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then waits on the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class CSRFMiddleware:
    """Wrap inside ServerSessionMiddleware: the token lives in the session."""

    def __init__(
        self,
        app: ASGIApp,
        exempt_prefixes: tuple[str, ...] = (),
        error_pages: ErrorPages | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.exempt_prefixes = exempt_prefixes
        self.error_pages = error_pages or ErrorPages()
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or (self.exempt_prefixes and scope["path"].startswith(self.exempt_prefixes))
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        submitted = headers.get(HEADER)
        if submitted is None and headers.get("content-type", "").lower().startswith(_FORM_TYPES):
            try:
                body = await self._body(headers, receive)
            except _BodyTooLarge:
                await self._refuse(scope, receive, send, 413)
                return
            if body is None:
                return
            receive = _replay(body, receive)
            try:
                submitted = await _form_field(scope, body)
            except (HTTPException, MultiPartException):
                await self._refuse(scope, receive, send, 400)
                return
        expected = session_of(scope).get(SESSION_KEY)
        if not (
            isinstance(expected, str)
            and submitted
            and hmac.compare_digest(submitted.encode(), expected.encode())
        ):
            await self._refuse(scope, receive, send, 403)
            return
        await self.app(scope, receive, send)

    async def _body(self, headers: Headers, receive: Receive) -> bytes | None:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            raise _BodyTooLarge
        return await _read_body(receive, self.max_body_bytes)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        request = Request(scope, receive)
        if status == 403:
            response = self.error_pages.response(
                request,
                403,
                title=N_("This form has expired"),
                message=N_("Go back, reload the page and try again."),
                code="csrf_failed",
            )
        else:
            response = self.error_pages.response(request, status)
        await response(scope, receive, send)


async def _form_field(scope: Scope, body: bytes) -> str | None:
    request = Request(scope, receive=_replay(body, _no_more))
    form = await request.form()
    try:
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


async def _no_more() -> Message:
    return {"type": "http.disconnect"}
