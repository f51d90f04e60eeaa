"""Heartbeats become health: online/offline from missed beats, faults from the devices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.db import utcnow
from shared.terminals import credentials, health, registry
from tests import factories

ADMIN = Actor(ActorType.STAFF, "admin")


def _report(reader: str = "ok", printer: str = "ok") -> dict[str, object]:
    return {
        "app_version": "1.0",
        "in_service": True,
        "reader": {"state": reader, "detail": ""},
        "printer": {"state": printer, "detail": ""},
        "journal_pending": 0,
        "last_payment": None,
    }


def _kiosk(db: Session) -> registry.Terminal:
    creds = credentials.provision(db, ADMIN, code=factories.unique("KIOSK"), location="Lobby")
    terminal = registry.by_code(db, creds.terminal)
    assert terminal is not None
    return terminal


def test_a_kiosk_is_offline_after_three_missed_heartbeats(db: Session) -> None:
    terminal = _kiosk(db)
    now = utcnow()
    health.record_heartbeat(db, terminal, _report(), now)

    assert health.health_of(db, terminal, 30, now + dt.timedelta(seconds=89)).online
    later = health.health_of(db, terminal, 30, now + dt.timedelta(seconds=91))
    assert not later.online
    assert later.faults == ["offline"]


def test_device_faults_put_a_kiosk_out_of_service(db: Session) -> None:
    terminal = _kiosk(db)
    health.record_heartbeat(db, terminal, _report(printer="paper_near_end"))
    shown = health.health_of(db, terminal, 30)
    assert shown.paper_low and not shown.out_of_service

    health.record_heartbeat(db, terminal, _report(printer="paper_out"))
    assert health.health_of(db, terminal, 30).faults == ["printer"]
    health.record_heartbeat(db, terminal, _report(reader="no_reader"))
    assert health.health_of(db, terminal, 30).faults == ["reader"]
    codes = [h.terminal.code for h in health.out_of_service(db, 30)]
    assert terminal.code in codes


def test_a_kiosk_never_enrolled_raises_no_alert(db: Session) -> None:
    issued = registry.register(db, ADMIN, code=factories.unique("KIOSK"), location="Lobby")
    assert not health.health_of(db, issued.terminal, 30).out_of_service
