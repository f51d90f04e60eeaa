"""Registering kiosks, their one-time enrolment codes, enrolment and revocation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.db import utcnow
from shared.models import AuditEvent
from shared.terminals import credentials, registry
from tests import factories

ADMIN = Actor(ActorType.STAFF, "admin", staff_user_id=None)


def _events(db: Session, code: str) -> list[tuple[str, str]]:
    db.flush()
    return [
        (e.action, f"{e.actor_type}:{e.actor_id}")
        for e in db.scalars(
            select(AuditEvent).where(AuditEvent.object_id == code).order_by(AuditEvent.seq)
        )
    ]


def test_a_registered_kiosk_enrols_once_with_its_code(db: Session) -> None:
    code = factories.unique("KIOSK")
    issued = registry.register(db, ADMIN, code=code.lower(), location=" City Hall  lobby ")

    assert issued.terminal.code == code
    assert issued.terminal.location == "City Hall lobby"
    assert issued.code not in (issued.terminal.enrolment_code_hash or "")
    creds = credentials.enrol(db, code, issued.code.lower().replace("-", " "))
    assert (creds.terminal, creds.location) == (code, "City Hall lobby")
    assert creds.client_secret not in (issued.terminal.credential_hash or "")
    assert credentials.by_client_id(db, creds.client_id) is issued.terminal
    with pytest.raises(credentials.EnrolmentRefused):
        credentials.enrol(db, code, issued.code)  # used up
    db.commit()
    actions = [action for action, _actor in _events(db, code)]
    assert actions[:3] == [
        "admin:terminal:registered",
        "admin:terminal:enrolment_code_issued",
        "kiosk:terminal:enrolled",
    ]
    assert ("kiosk:terminal:enrolled", f"terminal:{code}") in _events(db, code)


def test_a_wrong_or_expired_code_is_refused(db: Session) -> None:
    code = factories.unique("KIOSK")
    issued = registry.register(db, ADMIN, code=code, location="Library")
    with pytest.raises(credentials.EnrolmentRefused):
        credentials.enrol(db, code, "AAAA-BBBB-CCCC-DDDD")
    with pytest.raises(credentials.EnrolmentRefused):
        credentials.enrol(db, code, issued.code, now=utcnow() + dt.timedelta(hours=25))
    with pytest.raises(credentials.EnrolmentRefused):
        credentials.enrol(db, "NO-SUCH-KIOSK", issued.code)
    assert credentials.enrol(db, code, issued.code).client_id


def test_revoking_ends_the_tokens_at_once(db: Session) -> None:
    creds = credentials.provision(db, ADMIN, code=factories.unique("KIOSK"), location="Lobby")
    terminal = credentials.by_client_id(db, creds.client_id)
    assert terminal is not None
    token = credentials.issue_token(db, terminal, "secret").token
    assert credentials.verify_token(db, token, "secret") is not None
    assert credentials.verify_token(db, token, "another secret") is None

    registry.revoke(db, ADMIN, terminal, "stolen")

    assert credentials.verify_token(db, token, "secret") is None
    assert credentials.by_client_id(db, creds.client_id) is None


def test_enrolling_again_replaces_the_old_credentials(db: Session) -> None:
    code = factories.unique("KIOSK")
    first = credentials.provision(db, ADMIN, code=code, location="Lobby")
    terminal = registry.by_code(db, code)
    assert terminal is not None
    old_token = credentials.issue_token(db, terminal, "secret").token
    second = credentials.provision(db, ADMIN, code=code, location="Lobby")

    assert second.client_id != first.client_id
    assert credentials.verify_token(db, old_token, "secret") is None


@pytest.mark.parametrize(
    ("code", "location", "field"),
    [
        ("", "Lobby", "code"),
        ("K", "Lobby", "code"),
        ("KIOSK 01", "Lobby", "code"),
        ("4111111111111111", "Lobby", "code"),
        ("KIOSK-77", "   ", "location"),
        ("KIOSK-77", "x" * 201, "location"),
    ],
)
def test_bad_registrations_say_which_field(
    db: Session, code: str, location: str, field: str
) -> None:
    with pytest.raises(registry.TerminalError) as refused:
        registry.register(db, ADMIN, code=code, location=location)
    assert refused.value.field == field


def test_a_code_is_registered_once(db: Session) -> None:
    code = factories.unique("KIOSK")
    registry.register(db, ADMIN, code=code, location="Lobby")
    with pytest.raises(registry.TerminalError):
        registry.register(db, ADMIN, code=code, location="Elsewhere")
