"""Server-signed references to what a page is about, for the help widget.

A page hands the widget `sign_ref(secret, "receipt", number)`; when the citizen
asks for help, the server reads it back with `read_ref` and attaches the receipt
to the support request. The browser can carry the token but not forge or alter
it (HMAC-SHA256), and a token copied from an old page stops working after its
expiry. The token is not encrypted: it names only what the page already shows.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json

DEFAULT_TTL = dt.timedelta(hours=12)
# A key of its own: a context token can never pass for another signed value.
_PURPOSE = b"paydesk:context-ref:v1"
_MAC_BYTES = 16
MAX_TOKEN_LENGTH = 512


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(_key(secret), payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sign_ref(
    secret: str,
    kind: str,
    ident: str,
    *,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime | None = None,
) -> str:
    """A URL-safe token naming `ident` of `kind` (e.g. "receipt", "R-2025-000042")."""
    if not kind or not ident:
        raise ValueError("a context reference needs a kind and an identifier")
    expires = int(((now or _now()) + ttl).timestamp())
    payload = json.dumps([kind, ident, expires], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read_ref(secret: str, token: str, *, now: dt.datetime | None = None) -> tuple[str, str] | None:
    """`(kind, ident)` if `token` is ours, unaltered and unexpired; otherwise None."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    encoded_payload, encoded_mac = token.split(".")
    try:
        payload = _unb64(encoded_payload)
        given_mac = _unb64(encoded_mac)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(_mac(secret, payload), given_mac):
        return None
    try:
        kind, ident, expires = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if not (isinstance(kind, str) and isinstance(ident, str) and isinstance(expires, int)):
        return None
    if (now or _now()).timestamp() >= expires:
        return None
    return kind, ident
