"""Who may use the widget's endpoints from a browser, and proof that a form came from us.

The widget runs on our portal and on other sites of the organisation. Its requests carry
no cookie (the widget sends none, so nothing is remembered between kiosk residents, and
nothing of a staff or portal session can be used through it); what stops another site
from driving it is the Origin the browser sends:

- our own origin (`PAYDESK_BASE_URL`) and the origins in `PAYDESK_WIDGET_ORIGINS` may;
  their requests get CORS headers naming them, nobody else's do;
- a request from any other origin is refused with a bare 403 before anything runs;
- a request without an Origin (a plain link, a form in an old browser, a script outside
  a browser) is served like a visitor of the help page, with the same rate limits.

Every form the widget shows carries a `form_token`: the time it was issued, signed with
a key of its own. A POST without a valid one, or one older than FORM_TOKEN_TTL, is
refused, so a form must have been fetched from us recently (no cookie needed, so the
widget's forms work across sites where a session-bound CSRF token could not).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from shared.web.forms import settings_of

FORM_TOKEN_TTL = dt.timedelta(hours=2)
_PURPOSE = b"paydesk:support-form:v1"
View = Callable[[Request, Session], Response]
CORS_METHODS = "GET, POST"
CORS_HEADERS = "HX-Request, Content-Type"


def own_origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def allowed_origins(request: Request) -> set[str]:
    settings = settings_of(request)
    return {own_origin(settings.base_url), *settings.widget_origins}


def origin_refused(request: Request) -> bool:
    """A browser request from a site that may not embed the widget."""
    origin = request.headers.get("origin")
    return origin is not None and origin not in allowed_origins(request)


def with_cors(request: Request, response: Response) -> Response:
    """Let an allowed embedding site's page read this response (and nobody else's)."""
    origin = request.headers.get("origin")
    if origin is not None and origin in allowed_origins(request):
        response.headers["Access-Control-Allow-Origin"] = origin
    # A cache must not hand one site's answer to another.
    response.headers.add_vary_header("Origin")
    return response


def embeddable(view: View) -> View:
    """Refuse other sites before the view runs; add CORS headers to what it answers."""

    @functools.wraps(view)
    def guarded(request: Request, db: Session) -> Response:
        if origin_refused(request):
            return PlainTextResponse("Forbidden", status_code=403)
        return with_cors(request, view(request, db))

    return guarded


def preflight(request: Request) -> Response:
    """The browser asks before a cross-site POST with our header: say yes to allowed sites."""
    if origin_refused(request):
        return PlainTextResponse("Forbidden", status_code=403)
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return with_cors(request, response)


def _mac(secret: str, issued: str) -> str:
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, issued.encode(), hashlib.sha256).hexdigest()[:32]


def form_token(secret: str, now: dt.datetime | None = None) -> str:
    issued = str(int((now or dt.datetime.now(dt.UTC)).timestamp()))
    return f"{issued}.{_mac(secret, issued)}"


def form_token_valid(secret: str, token: str, now: dt.datetime | None = None) -> bool:
    issued, _, mac = token.partition(".")
    if not (issued.isascii() and issued.isdigit() and len(issued) <= 12):
        return False
    if not hmac.compare_digest(_mac(secret, issued), mac):
        return False
    age = (now or dt.datetime.now(dt.UTC)).timestamp() - int(issued)
    return 0 <= age <= FORM_TOKEN_TTL.total_seconds()
