"""`POST /api/v1/oauth/token`: kiosks trade their client credentials for an access token."""

from __future__ import annotations

import base64
import binascii
import unicodedata
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, Response

from integrations.api import oauth, schemas
from integrations.api.web import Db, parts_of

router = APIRouter(prefix="/v1/oauth", tags=["oauth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Anything longer is not one of ours: client ids are 22 characters, secrets 43.
_MAX_FIELD = 200


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="paydesk"'
    return JSONResponse({"error": error, "error_description": description}, status, headers)


def _clean(value: str) -> bool:
    return len(value) <= _MAX_FIELD and not any(
        unicodedata.category(ch) in ("Cc", "Cs") for ch in value
    )


def _basic_ok(header: str) -> bool:
    """A Basic header Authlib can read without tripping: base64 of UTF-8 `id:secret`."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return True  # not client authentication: Authlib ignores it
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and _clean(decoded)


OptionalField = Annotated[str | None, Form()]


@router.post(
    "/token",
    response_model=schemas.Token,
    responses={
        400: {"model": schemas.OAuthError, "description": "RFC 6749 error"},
        401: {"model": schemas.OAuthError, "description": "Unknown client or wrong secret"},
    },
    summary="Client credentials grant (scope kiosk): a 15-minute bearer token",
)
def token(
    request: Request,
    db: Db,
    grant_type: OptionalField = None,
    scope: OptionalField = None,
    client_id: OptionalField = None,
    client_secret: OptionalField = None,
) -> Response:
    """Client authentication by HTTP Basic (client_secret_basic) or by `client_id` and
    `client_secret` in the form (client_secret_post)."""
    form = {
        name: value
        for name, value in (
            ("grant_type", grant_type),
            ("scope", scope),
            ("client_id", client_id),
            ("client_secret", client_secret),
        )
        if value is not None
    }
    if not all(_clean(value) for value in form.values()):
        return _oauth_error(400, "invalid_request", "A field is too long or not text.")
    if not _basic_ok(request.headers.get("authorization", "")):
        return _oauth_error(401, "invalid_client", "The client credentials are not readable.")
    status, body, headers = oauth.token_response(
        db, parts_of(request).settings.secret_key, str(request.url), request.headers, form
    )
    if status == 200:
        db.commit()  # the audit event of the token issued
    return JSONResponse(body, status, dict(headers))
