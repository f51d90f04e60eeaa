"""Request helpers of the portal (the common ones live in shared.web.forms)."""

from __future__ import annotations

from starlette.requests import Request

from shared.actors import Actor, ActorType
from shared.i18n import ngettext_ as ngettext
from shared.rate_limit import RateLimited
from shared.web.forms import client_address, form_text, redirect_to, settings_of
from shared.web.sessions import COOKIE_NAME, hash_id

# Pages that show someone's bills or payments must not linger in shared caches.
NO_STORE = {"Cache-Control": "no-store"}


def citizen(request: Request) -> Actor:
    """The person at this browser, named by a hash of their session (never the id itself)."""
    cookie = request.cookies.get(COOKIE_NAME, "")
    return Actor(ActorType.CITIZEN, "web-" + hash_id(cookie)[:12], client_address(request))


def too_many_attempts(limited: RateLimited) -> tuple[str, dict[str, str]]:
    """The message and the Retry-After header for a rate-limited form."""
    message = ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        limited.minutes,
    ) % {"num": limited.minutes}
    return message, {"Retry-After": str(int(limited.retry_after.total_seconds()) + 1)}


__all__ = [
    "NO_STORE",
    "citizen",
    "client_address",
    "form_text",
    "redirect_to",
    "settings_of",
    "too_many_attempts",
]
