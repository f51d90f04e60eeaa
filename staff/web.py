"""Small request helpers every staff page uses."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from starlette.requests import Request

from shared.i18n import current_locale
from shared.local_time import time_of_day
from shared.web.forms import (
    client_address,
    form_text,
    form_values,
    id_from,
    redirect_to,
    settings_of,
)


def safe_next(request: Request, target: str | None) -> str:
    """Where to go after signing in: a path inside the staff console, never another site."""
    home = request.url_for("staff:home").path
    if not target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(home) or "\\" in target:
        return home
    return target


def password_field(request: Request, name: str) -> str:
    """A password as typed: unlike `form_text`, never trimmed (spaces may be part of it)."""
    value = request.state.form.get(name)
    return value if isinstance(value, str) else ""


def local_time(request: Request, value: dt.datetime) -> str:
    """The time of day in the organisation's zone, named: `2:05 p.m. (Eastern Standard
    Time)` (the database keeps UTC)."""
    return time_of_day(value, settings_of(request).timezone, current_locale.get())


__all__ = [
    "client_address",
    "form_text",
    "form_values",
    "id_from",
    "local_time",
    "password_field",
    "redirect_to",
    "safe_next",
    "settings_of",
]
