"""Register, re-key, revoke and find kiosks; the one-time enrolment code."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor, ActorType
from shared.card_numbers import holds_card_number
from shared.db import utcnow
from shared.i18n import N_
from shared.models import Department, Terminal

KIOSK = "kiosk"
ACTIVE = "active"
REVOKED = "revoked"
ENROLMENT_VALID_FOR = dt.timedelta(hours=24)
# Unambiguous letters and digits (no 0/O, 1/I/L): the code is read off a screen and typed.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE_GROUPS = 4
_TERMINAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,38}[A-Z0-9]")
LOCATION_MAX_LENGTH = 200


class TerminalError(ValueError):
    """A terminal cannot be registered or changed as asked: `message` (to translate) says
    why, `field` which input it is about."""

    def __init__(self, message: str, field: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.values = values
        self.field = field


@dataclass(frozen=True, slots=True)
class EnrolmentCode:
    """A code shown once to the administrator; only its hash is kept."""

    terminal: Terminal
    code: str
    expires_at: dt.datetime


def terminal_actor(terminal: Terminal, source_ip: str | None = None) -> Actor:
    """The terminal as the actor of what it does (`terminal:KIOSK-01`)."""
    return Actor(ActorType.TERMINAL, terminal.code, source_ip, terminal_id=terminal.id)


def normalise_code(text: str) -> str:
    """What matters in an enrolment code: letters and digits, any case, any grouping."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(4 * _CODE_GROUPS))
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def by_code(session: Session, code: str) -> Terminal | None:
    return session.scalars(
        select(Terminal).where(Terminal.code == code.strip().upper())
    ).one_or_none()


def kiosks(session: Session) -> list[Terminal]:
    return list(
        session.scalars(select(Terminal).where(Terminal.kind == KIOSK).order_by(Terminal.code))
    )


def _checked(code: str, location: str) -> tuple[str, str]:
    code = code.strip().upper()
    location = " ".join(location.split())
    if holds_card_number(code):
        raise TerminalError(N_("Enter a terminal code like KIOSK-01."), "code")
    if not _TERMINAL_CODE.fullmatch(code):
        raise TerminalError(
            N_("Enter a terminal code like KIOSK-01: 3 to 40 letters, digits and dashes."),
            "code",
        )
    if not location:
        raise TerminalError(N_("Enter where the kiosk stands, like City Hall lobby."), "location")
    if len(location) > LOCATION_MAX_LENGTH or holds_card_number(location):
        raise TerminalError(
            N_("Enter where the kiosk stands in at most %(limit)s characters."),
            "location",
            limit=LOCATION_MAX_LENGTH,
        )
    return code, location


def _issue_code(terminal: Terminal, now: dt.datetime) -> EnrolmentCode:
    code = _new_code()
    terminal.enrolment_code_hash = hash_code(code)
    terminal.enrolment_expires_at = now + ENROLMENT_VALID_FOR
    return EnrolmentCode(terminal, code, terminal.enrolment_expires_at)


def register(
    session: Session,
    actor: Actor,
    *,
    code: str,
    location: str,
    department_id: int | None = None,
    now: dt.datetime | None = None,
) -> EnrolmentCode:
    """Register a kiosk and issue its first one-time enrolment code (returned once)."""
    now = now or utcnow()
    code, location = _checked(code, location)
    if by_code(session, code) is not None:
        raise TerminalError(N_("There is already a terminal %(code)s."), "code", code=code)
    if department_id is not None and session.get(Department, department_id) is None:
        raise TerminalError(N_("Choose a department from the list."), "department")
    terminal = Terminal(
        code=code,
        kind=KIOSK,
        location=location,
        status=ACTIVE,
        department_id=department_id,
        registered_at=now,
        in_service=True,
        health={},
    )
    session.add(terminal)
    session.flush()
    issued = _issue_code(terminal, now)
    audit.record(
        session,
        actor,
        audit.AuditAction.TERMINAL_REGISTERED,
        "terminal",
        code,
        {"location": location, "department_id": department_id},
    )
    audit.record(
        session,
        actor,
        audit.AuditAction.TERMINAL_CODE_ISSUED,
        "terminal",
        code,
        {"expires_at": issued.expires_at.isoformat()},
    )
    return issued


def reissue_code(
    session: Session, actor: Actor, terminal: Terminal, now: dt.datetime | None = None
) -> EnrolmentCode:
    """A new one-time code (the old one stops working). A revoked terminal comes back to
    life only by enrolling with it; its old credentials stay dead either way."""
    now = now or utcnow()
    issued = _issue_code(terminal, now)
    if terminal.status == REVOKED:
        terminal.status = ACTIVE
    audit.record(
        session,
        actor,
        audit.AuditAction.TERMINAL_CODE_ISSUED,
        "terminal",
        terminal.code,
        {"expires_at": issued.expires_at.isoformat()},
    )
    return issued


def revoke(session: Session, actor: Actor, terminal: Terminal, reason: str = "") -> None:
    """Stop the terminal at once: its credentials, its access tokens (checked on every
    call against the client id dropped here) and any enrolment code."""
    terminal.status = REVOKED
    terminal.client_id = None
    terminal.credential_hash = None
    terminal.enrolment_code_hash = None
    terminal.enrolment_expires_at = None
    audit.record(
        session,
        actor,
        audit.AuditAction.TERMINAL_REVOKED,
        "terminal",
        terminal.code,
        {},
        " ".join(reason.split())[:500] or None,
    )


def set_in_service(session: Session, actor: Actor, terminal: Terminal, in_service: bool) -> None:
    """Staff take a kiosk out of service (it shows its out-of-service screen) or back."""
    if terminal.in_service == in_service:
        return
    terminal.in_service = in_service
    audit.record(
        session,
        actor,
        audit.AuditAction.TERMINAL_SERVICE_CHANGED,
        "terminal",
        terminal.code,
        {"in_service": in_service},
    )


def codes(session: Session) -> dict[int, str]:
    """Every terminal's code by id, for lists of payments (a short table: read whole)."""
    return {id_: code for id_, code in session.execute(select(Terminal.id, Terminal.code))}
