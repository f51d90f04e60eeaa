"""What kiosks say about themselves (heartbeats), and what staff are shown of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.card_numbers import scrub_value
from shared.db import utcnow
from shared.models import Payment, SupportRequest, SupportStatus, Terminal
from shared.terminals import registry

MISSED_BEFORE_OFFLINE = 3
READER_STATES = ("ok", "no_reader", "no_service", "error")
PRINTER_STATES = ("ok", "paper_near_end", "paper_out", "cover_open", "offline", "error")
# Printer states that stop the kiosk printing; paper near its end is a warning only.
PRINTER_FAULTS = frozenset({"paper_out", "cover_open", "offline", "error"})
OPEN_HELP = (SupportStatus.NEW, SupportStatus.OPEN, SupportStatus.WAITING)


def record_heartbeat(
    session: Session, terminal: Terminal, report: dict[str, Any], now: dt.datetime | None = None
) -> None:
    """Keep the kiosk's latest report as its health (card numbers in its free text masked:
    a driver's error message could quote what it read)."""
    terminal.last_heartbeat = now or utcnow()
    terminal.health = scrub_value(report)


def is_online(terminal: Terminal, heartbeat_seconds: int, now: dt.datetime | None = None) -> bool:
    """Heard from within three heartbeats."""
    if terminal.last_heartbeat is None:
        return False
    now = now or utcnow()
    return now - terminal.last_heartbeat <= dt.timedelta(
        seconds=heartbeat_seconds * MISSED_BEFORE_OFFLINE
    )


def _state(health: dict[str, Any], part: str, known: tuple[str, ...]) -> tuple[str, str]:
    value = health.get(part)
    if not isinstance(value, dict):
        return "unknown", ""
    state = value.get("state")
    detail = value.get("detail")
    return (
        state if isinstance(state, str) and state in known else "unknown",
        detail if isinstance(detail, str) else "",
    )


@dataclass
class KioskHealth:
    """One kiosk as the health page shows it."""

    terminal: Terminal
    online: bool
    reader: str
    reader_detail: str
    printer: str
    printer_detail: str
    reported_in_service: bool
    app_version: str
    journal_pending: int
    last_payment: Payment | None = None
    open_help: list[SupportRequest] = field(default_factory=list)

    @property
    def enrolled(self) -> bool:
        return self.terminal.client_id is not None

    @property
    def revoked(self) -> bool:
        return self.terminal.status == registry.REVOKED

    @property
    def faults(self) -> list[str]:
        """Why the kiosk cannot serve residents now (codes; the template words them)."""
        if self.revoked or not self.enrolled:
            return []
        found = []
        if not self.online:
            found.append("offline")
        else:
            if self.reader != "ok":
                found.append("reader")
            if self.printer in PRINTER_FAULTS:
                found.append("printer")
            if not self.reported_in_service:
                found.append("kiosk_reported")
        if not self.terminal.in_service:
            found.append("taken_out")
        return found

    @property
    def out_of_service(self) -> bool:
        return bool(self.faults)

    @property
    def paper_low(self) -> bool:
        return self.online and self.printer == "paper_near_end"


def health_of(
    session: Session,
    terminal: Terminal,
    heartbeat_seconds: int,
    now: dt.datetime | None = None,
    *,
    details: bool = True,
) -> KioskHealth:
    report = terminal.health if isinstance(terminal.health, dict) else {}
    reader, reader_detail = _state(report, "reader", READER_STATES)
    printer, printer_detail = _state(report, "printer", PRINTER_STATES)
    journal = report.get("journal_pending")
    version = report.get("app_version")
    found = KioskHealth(
        terminal=terminal,
        online=is_online(terminal, heartbeat_seconds, now),
        reader=reader,
        reader_detail=reader_detail,
        printer=printer,
        printer_detail=printer_detail,
        reported_in_service=report.get("in_service") is not False,
        app_version=version if isinstance(version, str) else "",
        journal_pending=journal if isinstance(journal, int) else 0,
    )
    if details:
        found.last_payment = session.scalars(
            select(Payment)
            .where(Payment.terminal_id == terminal.id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(1)
        ).first()
        found.open_help = list(
            session.scalars(
                select(SupportRequest)
                .where(
                    SupportRequest.terminal_code == terminal.code,
                    SupportRequest.status.in_(OPEN_HELP),
                )
                .order_by(SupportRequest.created_at)
            )
        )
    return found


def all_kiosks(
    session: Session, heartbeat_seconds: int, now: dt.datetime | None = None
) -> list[KioskHealth]:
    return [health_of(session, t, heartbeat_seconds, now) for t in registry.kiosks(session)]


def out_of_service(
    session: Session, heartbeat_seconds: int, now: dt.datetime | None = None
) -> list[KioskHealth]:
    """Enrolled kiosks that cannot serve residents now: for the staff home page's alert."""
    found = (
        health_of(session, t, heartbeat_seconds, now, details=False)
        for t in registry.kiosks(session)
    )
    return [h for h in found if h.out_of_service]
