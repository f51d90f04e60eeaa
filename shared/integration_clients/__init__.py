"""Integration clients: the OAuth2 clients of a city's back-end systems (tax, utility,
permits, invoicing, a CRM). An administrator registers one with scopes and an optional
department; its secret is shown once and kept hashed. Access tokens are the kiosks'
(shared.terminals.credentials signs them and checks them): short-lived, and checked
against this registry on every call, so a revoked client stops at once. A client acts as
`integration:<client id>` in the audit trail and has its own rate limit.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.card_numbers import holds_card_number
from shared.db import utcnow
from shared.i18n import N_
from shared.models import Department, IntegrationClient
from shared.terminals.credentials import hash_secret

BALANCES_WRITE = "balances:write"
SCOPES = (
    BALANCES_WRITE,
    "payments:read",
    "payments:write",
    "refunds:request",
    "interactions:write",
    "webhooks:manage",
)
ACTIVE, REVOKED = "active", "revoked"
CLIENT_ID_PREFIX = "sys_"
NAME_MAX_LENGTH = 120


class ClientRefused(ValueError):
    """A client cannot be registered as asked: `message` (to translate), `field`."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True, slots=True)
class Registered:
    """What the administrator sees once: the secret exists nowhere else."""

    client: IntegrationClient
    client_id: str
    client_secret: str


def actor(client: IntegrationClient, source_ip: str | None = None) -> Actor:
    """The client as the actor of what it does (`integration:sys_…`)."""
    return Actor(ActorType.INTEGRATION, client.client_id or f"revoked-{client.id}", source_ip)


def register(
    session: Session,
    by: Actor,
    *,
    name: str,
    scopes: list[str],
    department_id: int | None = None,
) -> Registered:
    """Register a system client; ClientRefused names the field to fix."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX_LENGTH or holds_card_number(name):
        raise ClientRefused(
            N_("Enter the system's name, like Utility billing, in at most 120 characters."),
            "name",
        )
    chosen = sorted(set(scopes))
    if not chosen or any(scope not in SCOPES for scope in chosen):
        raise ClientRefused(N_("Choose at least one scope from the list."), "scopes")
    if department_id is not None and session.get(Department, department_id) is None:
        raise ClientRefused(N_("Choose a department from the list."), "department")
    client_id = CLIENT_ID_PREFIX + secrets.token_urlsafe(12)
    client_secret = secrets.token_urlsafe(32)
    client = IntegrationClient(
        name=name,
        client_id=client_id,
        secret_hash=hash_secret(client_secret),
        scopes=chosen,
        department_id=department_id,
        status=ACTIVE,
        created_by=str(by),
    )
    session.add(client)
    session.flush()
    audit.record(
        session,
        by,
        audit.AuditAction.INTEGRATION_CLIENT_REGISTERED,
        "integration_client",
        client_id,
        {"name": name, "scopes": chosen, "department_id": department_id},
    )
    return Registered(client, client_id, client_secret)


def revoke(
    session: Session, by: Actor, client: IntegrationClient, now: dt.datetime | None = None
) -> None:
    """Stop the client at once: its access tokens name a client id no longer found."""
    old = client.client_id
    client.status, client.client_id, client.secret_hash = REVOKED, None, None
    client.revoked_at = now or utcnow()
    audit.record(
        session,
        by,
        audit.AuditAction.INTEGRATION_CLIENT_REVOKED,
        "integration_client",
        old or "",
        {},
    )


def by_client_id(session: Session, client_id: str) -> IntegrationClient | None:
    if not client_id.startswith(CLIENT_ID_PREFIX):
        return None
    return session.scalars(
        select(IntegrationClient).where(
            IntegrationClient.client_id == client_id[:64], IntegrationClient.status == ACTIVE
        )
    ).one_or_none()


def clients(session: Session) -> list[IntegrationClient]:
    return list(session.scalars(select(IntegrationClient).order_by(IntegrationClient.name)))


def secret_matches(client: IntegrationClient, secret: str) -> bool:
    return hmac.compare_digest(hash_secret(secret).encode(), (client.secret_hash or "").encode())
