"""OAuth2 client credentials for kiosks, and their short-lived access tokens.

Enrolment trades the one-time code for a client id and secret; the secret is shown to the
kiosk once and kept as a hash (it is 256 random bits, so a plain SHA-256 is as strong as
a slow hash and keeps the token endpoint fast). Access tokens are signed, not stored: they
name the client id and expire after 15 minutes, and every call checks that client id is
still the terminal's, so a revocation or a new enrolment ends them at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.db import utcnow
from shared.models import Terminal
from shared.rate_limit import Limit, RateLimited, count, key_of, refuse_if_spent
from shared.terminals import registry

SCOPE = "kiosk"
TOKEN_LIFETIME = dt.timedelta(minutes=15)
_TOKEN_SALT = "paydesk.kiosk.access-token"  # noqa: S105 - a salt, not a secret
# Wrong codes for one terminal: a code has 80 bits, this only keeps the log readable.
ENROLMENT_FAILURES = Limit(10, dt.timedelta(minutes=15))


class EnrolmentRefused(Exception):
    """Wrong, used or expired code, unknown or revoked terminal: one answer for all."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a kiosk keeps after enrolling; the secret exists nowhere else."""

    terminal: str
    location: str
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int
    scope: str


def hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(terminal: Terminal, secret: str) -> bool:
    expected = terminal.credential_hash or ""
    return hmac.compare_digest(hash_secret(secret).encode(), expected.encode())


def _issue_credentials(session: Session, terminal: Terminal, actor: Actor) -> Credentials:
    client_id = "kiosk_" + secrets.token_urlsafe(12)
    client_secret = secrets.token_urlsafe(32)
    terminal.client_id = client_id
    terminal.credential_hash = hash_secret(client_secret)
    terminal.enrolment_code_hash = None
    terminal.enrolment_expires_at = None
    terminal.enrolled_at = utcnow()
    terminal.status = registry.ACTIVE
    audit.record(
        session,
        actor,
        audit.AuditAction.TERMINAL_ENROLLED,
        "terminal",
        terminal.code,
        {"client_id": client_id},
    )
    return Credentials(terminal.code, terminal.location, client_id, client_secret)


def enrol(
    session: Session,
    terminal_code: str,
    enrolment_code: str,
    source_ip: str | None = None,
    now: dt.datetime | None = None,
) -> Credentials:
    """Exchange a one-time enrolment code for client credentials (the code is used up;
    any earlier credentials of the terminal stop working). EnrolmentRefused otherwise."""
    now = now or utcnow()
    code = terminal_code.strip().upper()[:64]
    limit = [(key_of(session, "kiosk:enrol", code), ENROLMENT_FAILURES)]
    terminal = registry.by_code(session, code)
    try:
        refuse_if_spent(session, limit, now)
    except RateLimited:
        terminal = None
    expected = (terminal.enrolment_code_hash if terminal else None) or "-"
    given = registry.hash_code(enrolment_code)
    matches = hmac.compare_digest(given.encode(), expected.encode())
    expires = terminal.enrolment_expires_at if terminal else None
    if terminal is None or not matches or expires is None or expires <= now:
        count(session, limit, now)
        if terminal is not None:
            audit.record(
                session,
                registry.terminal_actor(terminal, source_ip),
                audit.AuditAction.TERMINAL_ENROLMENT_REFUSED,
                "terminal",
                terminal.code,
                {"expired": bool(matches and expires is not None and expires <= now)},
            )
        raise EnrolmentRefused(code)
    return _issue_credentials(session, terminal, registry.terminal_actor(terminal, source_ip))


def by_client_id(session: Session, client_id: str) -> Terminal | None:
    if not client_id:
        return None
    return session.scalars(
        select(Terminal).where(
            Terminal.client_id == client_id[:64], Terminal.status == registry.ACTIVE
        )
    ).one_or_none()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_TOKEN_SALT)


def sign_token(secret_key: str, client_id: str, scope: str) -> str:
    """A signed bearer token naming `client_id` (a kiosk's or an integration client's);
    whoever reads it checks that client id against its registry on every call."""
    return str(
        _serializer(secret_key).dumps({"c": client_id, "s": scope, "n": secrets.token_hex(4)})
    )


def read_token(token: str, secret_key: str) -> tuple[str, frozenset[str]] | None:
    """(client id, scopes) of a well-signed, unexpired token; None otherwise."""
    try:
        data = _serializer(secret_key).loads(token, max_age=int(TOKEN_LIFETIME.total_seconds()))
    except (BadSignature, SignatureExpired, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    client_id, scope = data.get("c"), data.get("s")
    if not isinstance(client_id, str) or not isinstance(scope, str):
        return None
    return client_id, frozenset(scope.split())


def issue_token(
    session: Session, terminal: Terminal, secret_key: str, scope: str = SCOPE
) -> AccessToken:
    """A signed bearer token for `terminal`, valid 15 minutes while it stays enrolled."""
    assert terminal.client_id is not None
    token = sign_token(secret_key, terminal.client_id, scope)
    audit.record(
        session,
        registry.terminal_actor(terminal),
        audit.AuditAction.TERMINAL_TOKEN_ISSUED,
        "terminal",
        terminal.code,
        {"scope": scope},
    )
    return AccessToken(token, int(TOKEN_LIFETIME.total_seconds()), scope)


@dataclass(frozen=True, slots=True)
class Bearer:
    terminal: Terminal
    scopes: frozenset[str]


def verify_token(session: Session, token: str, secret_key: str) -> Bearer | None:
    """The terminal a bearer token speaks for, or None: bad signature, expired, or the
    terminal revoked or enrolled again since (checked now, on every call)."""
    read = read_token(token, secret_key)
    terminal = by_client_id(session, read[0]) if read else None
    if read is None or terminal is None:
        return None
    return Bearer(terminal, read[1])


def provision(
    session: Session,
    actor: Actor,
    *,
    code: str,
    location: str,
    department_id: int | None = None,
) -> Credentials:
    """Register a kiosk (or take the one registered under `code`) and enrol it at once:
    for `paydesk demo`'s simulated kiosk and for tests, where no one types a code."""
    terminal = registry.by_code(session, code)
    if terminal is None:
        issued = registry.register(
            session, actor, code=code, location=location, department_id=department_id
        )
    else:
        issued = registry.reissue_code(session, actor, terminal)
    session.flush()
    return enrol(session, issued.terminal.code, issued.code)
