"""The widget's script and stylesheet, as other sites load them: compressed, cached for a
few minutes (a fix reaches every page soon), the right type for `nosniff`."""

from __future__ import annotations

from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"
CACHE = "public, max-age=300"


def _asset(name: str, media_type: str) -> ASGIApp:
    body = (STATIC / name).read_bytes()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = Response(body, media_type=media_type, headers={"Cache-Control": CACHE})
        await response(scope, receive, send)

    return GZipMiddleware(app, minimum_size=500)


script = _asset("widget.js", "text/javascript")
stylesheet = _asset("widget.css", "text/css")
