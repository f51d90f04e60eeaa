"""Small request helpers every staff page uses."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.config import Settings


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def form_text(request: Request, name: str) -> str:
    value = request.state.form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_values(request: Request, name: str) -> list[str]:
    return [v for v in request.state.form.getlist(name) if isinstance(v, str)]


def redirect_to(request: Request, name: str, **params: Any) -> Response:
    return RedirectResponse(str(request.url_for(name, **params)), status_code=303)


def safe_next(request: Request, target: str | None) -> str:
    """Where to go after signing in: a path inside the staff console, never another site."""
    home = request.url_for("staff:home").path
    if not target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(home) or "\\" in target:
        return home
    return target


def local_time(request: Request, value: dt.datetime) -> str:
    """HH:MM in the organisation's time zone (the database keeps UTC)."""
    return value.astimezone(ZoneInfo(settings_of(request).timezone)).strftime("%H:%M")
