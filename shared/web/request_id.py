"""A short id for every request: in the response, in every log line, on error pages.

A resident reads it to support from an error page; support finds the log lines by it.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
# An id from a proxy in front of us is kept so logs line up across hops, but only if it is
# short and plain: it is written into logs and pages, so it must not carry markup or newlines.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    # Twelve hex digits are short enough to read out over the phone.
    return secrets.token_hex(6)


def request_id_of(source: HTTPConnection | Scope) -> str | None:
    scope = source.scope if isinstance(source, HTTPConnection) else source
    state = scope.get("state") or {}
    found = state.get("request_id")
    return found if isinstance(found, str) else request_id_var.get()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, trust_incoming: bool = True) -> None:
        self.app = app
        self.trust_incoming = trust_incoming

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(HEADER) if self.trust_incoming else None
        request_id = incoming if incoming and _ACCEPTABLE.fullmatch(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers[HEADER] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
