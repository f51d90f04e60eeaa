"""Small request helpers every portal page uses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.actors import Actor, ActorType
from shared.config import Settings
from shared.i18n import ngettext_ as ngettext
from shared.rate_limit import RateLimited
from shared.web.sessions import COOKIE_NAME, hash_id

# Pages that show someone's bills or payments must not linger in shared caches.
NO_STORE = {"Cache-Control": "no-store"}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def citizen(request: Request) -> Actor:
    """The person at this browser, named by a hash of their session (never the id itself)."""
    cookie = request.cookies.get(COOKIE_NAME, "")
    return Actor(ActorType.CITIZEN, "web-" + hash_id(cookie)[:12], client_address(request))


def form_text(request: Request, name: str) -> str:
    value = request.state.form.get(name)
    return value.strip() if isinstance(value, str) else ""


def redirect_to(request: Request, name: str, **params: Any) -> Response:
    return RedirectResponse(str(request.url_for(name, **params)), status_code=303)


def too_many_attempts(limited: RateLimited) -> tuple[str, dict[str, str]]:
    """The message and the Retry-After header for a rate-limited form."""
    message = ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        limited.minutes,
    ) % {"num": limited.minutes}
    return message, {"Retry-After": str(int(limited.retry_after.total_seconds()) + 1)}
