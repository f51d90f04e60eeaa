"""Control characters from the browser: refused with a 400 before they reach the database.

PostgreSQL cannot keep a NUL in text, so a NUL that reaches a query parameter is a 500,
and no keyboard types one. A NUL in the address (path or query string) is refused for
every front by `NulGuardMiddleware`; a form with any control character but whitespace
(a tab, a line break) is refused by `refuse_control_characters`, which `page` calls on
every form it reads.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.i18n import N_
from shared.search_terms import has_control_characters
from shared.web.errors import ErrorPages

ADDRESS_REFUSED = N_(
    "This address contains a character that is not allowed. Check the link and try again."
)
FORM_REFUSED = N_(
    "The form contains a control character that cannot be saved (it may have come "
    "with pasted text). Remove it and try again."
)


def refuse_control_characters(form: FormData) -> None:
    """Raise a 400 if a text field holds a control character.

    Refused rather than stripped: stripping would quietly turn what was sent into
    something else (`bob\\x00` signing in as `bob`, a reference matching another
    record), and nobody sends one by typing. Uploaded files are not text fields.
    """
    for _, value in form.multi_items():
        if isinstance(value, str) and has_control_characters(value):
            raise HTTPException(400, detail=FORM_REFUSED)


class NulGuardMiddleware:
    """Answer 400 when the path or the query string holds a NUL, raw or as %00."""

    def __init__(self, app: ASGIApp, error_pages: ErrorPages | None = None) -> None:
        self.app = app
        self.error_pages = error_pages or ErrorPages()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            response = self.error_pages.response(
                Request(scope, receive), 400, message=ADDRESS_REFUSED, code="bad_characters"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    # The path arrives decoded; the query string as sent, so %00 is looked for too.
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"\x00" in query or b"%00" in query
