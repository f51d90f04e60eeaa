"""Request helpers every front's views use: settings, the client's address, form fields,
redirects after a POST."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.config import Settings
from shared.web.routing import MAX_ID_DIGITS


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def form_text(request: Request, name: str) -> str:
    """A submitted field, trimmed; "" when absent.

    The form is read by `@page`, which has refused it already if any field held a
    control character (NUL included): what comes back here is safe to query with.
    """
    value = request.state.form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_values(request: Request, name: str) -> list[str]:
    return [v for v in request.state.form.getlist(name) if isinstance(v, str)]


def id_from(text: str) -> int | None:
    """A row id chosen in a form or a link, or None: ASCII digits only ("²" is a digit to
    str.isdigit, not to int), and few enough for a BIGINT (as in the routes' `{x:int}`)."""
    fits = text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS
    return int(text) if fits else None


def redirect_to(request: Request, name: str, **params: Any) -> Response:
    """303 See Other to a named route: the browser GETs it (post/redirect/get)."""
    return RedirectResponse(str(request.url_for(name, **params)), status_code=303)
