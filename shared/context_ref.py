"""Server-signed references to what a page is about, for the help widget.

A page hands the widget `sign_ref(secret, "receipt", number)`; when the citizen
asks for help, the server reads it back with `read_ref` and attaches the receipt
to the support request. The browser can carry the token but not forge or alter
it (HMAC-SHA256), and a token copied from an old page stops working after its
expiry. The token is not encrypted: it names only what the page already shows.

A kiosk's pages also sign where the person is (`sign_context(..., channel="kiosk",
terminal="KIOSK-01")`): only a token the server signed can make a request that claims
to come from a terminal. `read_context` gives all of it back; `read_ref` just the record.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class SignedContext:
    """What a page is about (`kind`, `ident`), and where it was shown: the channel
    ("web", "kiosk") and the terminal, when the page said so."""

    kind: str
    ident: str
    channel: str | None = None
    terminal: str | None = None


def sign_ref(
    secret: str,
    kind: str,
    ident: str,
    *,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime | None = None,
) -> str:
    """A URL-safe token naming `ident` of `kind` (e.g. "receipt", "R-2025-000042")."""
    return sign_context(secret, kind, ident, ttl=ttl, now=now)


def sign_context(
    secret: str,
    kind: str,
    ident: str,
    *,
    channel: str | None = None,
    terminal: str | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
    now: dt.datetime | None = None,
) -> str:
    """A token naming `ident` of `kind`, shown on `channel` at `terminal` (both optional).
    A kiosk page with nothing on screen yet signs kind "terminal" and its own code."""
    if not kind or not ident:
        raise ValueError("a context reference needs a kind and an identifier")
    expires = int(((now or _now()) + ttl).timestamp())
    fields: list[str | int | None] = [kind, ident, expires]
    if channel or terminal:
        fields += [channel, terminal]
    payload = json.dumps(fields, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def read_ref(secret: str, token: str, *, now: dt.datetime | None = None) -> tuple[str, str] | None:
    """`(kind, ident)` if `token` is ours, unaltered and unexpired; otherwise None."""
    found = read_context(secret, token, now=now)
    return (found.kind, found.ident) if found else None


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def read_context(
    secret: str, token: str, *, now: dt.datetime | None = None
) -> SignedContext | None:
    """All the token says if it is ours, unaltered and unexpired; otherwise None, whatever
    was wrong with it (the caller cannot tell, and so cannot tell anyone)."""
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
        fields = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(fields, list) or len(fields) not in (3, 5):
        return None
    kind, ident, expires, *where = fields
    channel, terminal = where or [None, None]
    if not (isinstance(kind, str) and isinstance(ident, str) and isinstance(expires, int)):
        return None
    if not (_text_or_none(channel) and _text_or_none(terminal)):
        return None
    if (now or _now()).timestamp() >= expires:
        return None
    return SignedContext(kind, ident, channel, terminal)
