"""Small request helpers every staff page uses."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import unquote_plus, urlsplit

from starlette.requests import Request

from shared.card_numbers import holds_card_number
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
    """Where to go after signing in: a path inside the staff console, never another site,
    and never one holding a card number (it is kept in the pending sign-in's session)."""
    home = request.url_for("staff:home").path
    if not target or holds_card_number(unquote_plus(target)):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(home) or "\\" in target:
        return home
    return target


def form_key(request: Request, name: str = "key") -> str:
    """The idempotency key the page gave the form (a UUID), or a new one: a key changed in
    the browser (a card number, a NUL, too long for the column) is never kept."""
    text = form_text(request, name)
    try:
        return text if str(uuid.UUID(text)) == text else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


def password_field(request: Request, name: str) -> str:
    """A password as typed: unlike `form_text`, never trimmed (spaces may be part of it)."""
    value = request.state.form.get(name)
    return value if isinstance(value, str) else ""


def local_time(request: Request, value: dt.datetime, *, seconds: bool = False) -> str:
    """The time of day in the organisation's zone, named: `2:05 p.m. (Eastern Standard
    Time)` (the database keeps UTC); `seconds` for a wait counted in seconds."""
    zone = settings_of(request).timezone
    return time_of_day(value, zone, current_locale.get(), seconds=seconds)


__all__ = [
    "client_address",
    "form_key",
    "form_text",
    "form_values",
    "id_from",
    "local_time",
    "password_field",
    "redirect_to",
    "safe_next",
    "settings_of",
]
