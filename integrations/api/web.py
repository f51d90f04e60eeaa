"""The API's plumbing: one database session per call, the error shape, the locale, the
bearer token check."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from shared import audit
from shared.actors import Actor
from shared.balance_sources.refreshing import Refresher
from shared.config import Settings
from shared.gateway.protocol import PaymentGateway
from shared.i18n import LOCALES, N_, current_locale, gettext_
from shared.models import Terminal
from shared.terminals import credentials, registry


class Parts(Protocol):
    """What the API needs of the running system (paydesk.runtime.Runtime has it)."""

    settings: Settings
    factory: sessionmaker[Session]
    gateway: PaymentGateway
    # Source systems asked about bills before they are shown or paid (shared.balance_sources).
    balance_sources: Refresher


class ApiError(Exception):
    """Answered as `{"error": code, "message": message}` (plus `fields` for a 422)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.fields = fields


def invalid(fields: dict[str, str]) -> ApiError:
    return ApiError(422, "invalid", gettext_(INVALID), fields=fields)


INVALID = N_("Some of what was sent is not valid; see fields.")
NOT_FOUND = N_("There is nothing here.")
UNREADABLE = N_("The body is not readable JSON.")


PROBLEM_BASE = "https://paydesk.invalid/problems/"
# The push API answers errors as RFC 9457 problem details; the kiosk API keeps its shape.
_PROBLEM_PATHS = ("/v1/accounts/", "/v1/bills/")


class Problem(Exception):
    """Answered as RFC 9457 problem details (`application/problem+json`)."""

    def __init__(
        self,
        status_code: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(slug)
        self.status_code, self.slug, self.title, self.detail = status_code, slug, title, detail
        self.headers = dict(headers or {})
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def _problem_response(problem: Problem) -> Response:
    return JSONResponse(
        problem.body(),
        problem.status_code,
        headers=problem.headers or None,
        media_type="application/problem+json",
    )


async def _problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _problem_response(exc)


def _wants_problem(request: Request) -> bool:
    path = request.scope.get("path", "")
    return any(part in path for part in _PROBLEM_PATHS)


def _error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.fields is not None:
        body["fields"] = error.fields
    return JSONResponse(body, error.status_code, headers=error.headers or None)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc)


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "items", 0, "amount_minor") -> "items.0.amount_minor"; the body itself: "body".
    parts = [str(p) for p in location[1:]] if len(location) > 1 else [str(location[0])]
    return ".".join(parts)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields: dict[str, str] = {}
    for problem in exc.errors():
        fields.setdefault(_field_name(tuple(problem.get("loc", ("body",)))), str(problem["msg"]))
    if _wants_problem(request):
        return _problem_response(
            Problem(422, "invalid", "Invalid request", gettext_(INVALID), errors=fields)
        )
    return _error_response(invalid(fields))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _wants_problem(request):
        if exc.status_code == 400:
            detail, slug = gettext_(UNREADABLE), "invalid"
            return _problem_response(Problem(422, slug, "Invalid request", detail))
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "error")
        return _problem_response(
            Problem(
                exc.status_code,
                slug,
                slug.replace("-", " ").capitalize(),
                str(exc.detail),
                headers=exc.headers,
            )
        )
    if exc.status_code == 400:
        # FastAPI could not parse the body (not JSON, not UTF-8): invalid input like any other.
        return _error_response(invalid({"body": gettext_(UNREADABLE)}))
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "error")
    message = gettext_(NOT_FOUND) if exc.status_code == 404 else str(exc.detail)
    return _error_response(ApiError(exc.status_code, code, message, headers=exc.headers))


EXCEPTION_HANDLERS = {
    ApiError: _api_error,
    Problem: _problem,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
}


def parts_of(request: Request) -> Parts:
    parts: Parts = request.app.state.parts
    return parts


def database(request: Request) -> Iterator[Session]:
    """One session per call; handlers commit what they keep, the rest is rolled back."""
    session = parts_of(request).factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


Db = Annotated[Session, Depends(database)]


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Messages in the locale the kiosk asked for (the resident's language)."""
    token = current_locale.set(locale if locale in LOCALES else "en")
    try:
        yield
    finally:
        current_locale.reset(token)


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="kiosk",
    description=(
        "An access token from POST /api/v1/oauth/token (client credentials, scope `kiosk`)."
    ),
)


@dataclass(frozen=True, slots=True)
class Caller:
    """The terminal making this call, and who it is in the audit trail."""

    terminal: Terminal
    actor: Actor


_UNAUTHORIZED = N_("Sign in again: the access token is missing, expired or revoked.")
_FORBIDDEN = N_("This access token does not allow kiosk calls.")


def kiosk_caller(
    request: Request,
    db: Db,
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The terminal the bearer token speaks for: 401 without a live token (checked against
    the registry now, so a revoked terminal is refused at once), 403 without scope kiosk."""
    if given is None:
        raise ApiError(
            401, "unauthorized", gettext_(_UNAUTHORIZED), headers={"WWW-Authenticate": "Bearer"}
        )
    found = credentials.verify_token(db, given.credentials, parts_of(request).settings.secret_key)
    if found is None:
        raise ApiError(
            401,
            "invalid_token",
            gettext_(_UNAUTHORIZED),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if credentials.SCOPE not in found.scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            gettext_(_FORBIDDEN),
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="kiosk"'},
        )
    address = request.client.host if request.client else None
    return Caller(found.terminal, registry.terminal_actor(found.terminal, address))


Kiosk = Annotated[Caller, Depends(kiosk_caller)]


def audited(
    db: Session, caller: Caller, call: str, subject: str, details: dict[str, Any] | None = None
) -> None:
    """Every kiosk call leaves an event in the terminal's name (committed with the call)."""
    audit.record(
        db,
        caller.actor,
        audit.AuditAction.KIOSK_API_CALLED,
        "terminal",
        caller.terminal.code,
        {"call": call, "subject": subject, **(details or {})},
    )
