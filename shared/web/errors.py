"""Error pages: a translated page for people, JSON for programs, never a traceback.

Every error names the request id, so a resident can quote it and support can find the
log lines. Starlette's `exception_handlers=` takes `exception_handlers()`; middleware
that must refuse a request before routing (CSRF) uses `ErrorPages.response`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ExceptionHandler

from shared.i18n import LOCALE_NAMES, LOCALES, N_, negotiate, translations
from shared.web.request_id import request_id_of

LOCALE_COOKIE = "paydesk_locale"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "errors/error.html"
# Where the app serves shared/static (paydesk/app.py): error pages are answered outside
# any front, so they name it rather than ask a router that may not have matched.
STATIC_PREFIX = "/static"

logger = logging.getLogger(__name__)


# (title, message) by status; any other 4xx reads as 400, any other 5xx as 500.
MESSAGES: dict[int, tuple[str, str]] = {
    400: (
        N_("Something was wrong with that request"),
        N_("Go back, check what you entered and try again."),
    ),
    403: (
        N_("You cannot do that here"),
        N_("You do not have permission to see this page or do this action."),
    ),
    404: (
        N_("Page not found"),
        N_("We could not find that page. Check the address, or go to the start page."),
    ),
    405: (N_("That did not work"), N_("This page cannot be used that way. Go back and try again.")),
    413: (N_("That was too large"), N_("What you sent is too large. Try a smaller file.")),
    429: (N_("Too many attempts"), N_("Wait a few minutes, then try again.")),
    500: (
        N_("Sorry, something went wrong on our side"),
        N_(
            "It was not your fault. Try again in a few minutes. If it keeps happening, "
            "contact us and quote the reference below."
        ),
    ),
    503: (N_("Service unavailable"), N_("We are doing maintenance. Try again in a few minutes.")),
}


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(LOCALE_COOKIE)
    return chosen if chosen in LOCALES else negotiate(request.headers.get("accept-language"))


def wants_json(request: Request) -> bool:
    path = request.scope["path"]
    if path == "/api" or path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


class ErrorPages:
    def __init__(self, templates: Path | jinja2.Environment | None = None) -> None:
        if isinstance(templates, jinja2.Environment):
            self.env = templates
        else:
            self.env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(templates or TEMPLATES_DIR), autoescape=True
            )

    def response(
        self,
        request: Request,
        status_code: int,
        *,
        title: str | None = None,
        message: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        fallback = 500 if status_code >= 500 else 400
        default_title, default_message = MESSAGES.get(status_code, MESSAGES[fallback])
        title, message = title or default_title, message or default_message
        request_id = request_id_of(request)
        # The page names a request that may be someone's; shared caches keep none of it.
        all_headers = {"Cache-Control": "no-store", **(headers or {})}
        if wants_json(request):
            code = code or _phrase(status_code).lower().replace(" ", "_").replace("-", "_")
            body = {"error": {"code": code, "message": message, "request_id": request_id}}
            return JSONResponse(body, status_code, all_headers)
        # The language the page would have had (?lang= included), else the cookie's.
        locale = request.scope.get("state", {}).get("locale") or locale_of(request)
        gettext = translations(locale).gettext
        settings = getattr(request.app.state, "settings", None) if "app" in request.scope else None
        html = self.env.get_template(TEMPLATE).render(
            lang=locale,
            languages=LOCALE_NAMES.items(),
            org_name=getattr(settings, "org_name", ""),
            static_url=lambda path: f"{STATIC_PREFIX}/{path}",
            status_code=status_code,
            title=gettext(title),
            message=gettext(message),
            request_id=request_id,
            _=gettext,
        )
        return HTMLResponse(html, status_code, all_headers)

    async def http_exception(self, request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # registered for HTTPException only
            raise exc
        if exc.status_code in {204, 304}:
            return Response(status_code=exc.status_code, headers=exc.headers)
        # A 4xx detail other than the bare status phrase was written for the reader.
        custom = exc.status_code < 500 and exc.detail != _phrase(exc.status_code)
        return self.response(
            request,
            exc.status_code,
            message=exc.detail if custom else None,
            headers=exc.headers,
        )

    async def server_error(self, request: Request, exc: Exception) -> Response:
        # The traceback goes to the log under the request id, never to the page.
        logger.error(
            "unhandled error on %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"request_id": request_id_of(request)},
        )
        return self.response(request, 500)


def exception_handlers(
    templates: Path | jinja2.Environment | ErrorPages | None = None,
) -> dict[Any, ExceptionHandler]:
    """Handlers for `Starlette(exception_handlers=...)`: every HTTP error and every crash."""
    pages = templates if isinstance(templates, ErrorPages) else ErrorPages(templates)
    return {HTTPException: pages.http_exception, Exception: pages.server_error}
