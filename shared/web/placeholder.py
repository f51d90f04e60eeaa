"""A plain page for a front whose screens have not landed yet."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response


def placeholder(title: str, message: str) -> Callable[[Request], Response]:
    body = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p></main></body></html>"
    )

    def view(request: Request) -> Response:
        return HTMLResponse(body)

    return view
