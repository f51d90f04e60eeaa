"""The kiosk runtime's settings: the command line's options, timings from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return value


@dataclass(frozen=True, slots=True)
class KioskSettings:
    """What one kiosk needs to run.

    `state_dir` keeps the credentials (`credentials.json`, owner-only), the journal
    (`journal.sqlite3`) and, with the simulated printer, the printed receipts.
    """

    server_url: str
    terminal: str
    state_dir: Path
    enrolment_code: str | None = None
    reader: str = "simulated"
    printer: str = "simulated"
    printer_width: int = 42
    # The resident is asked "Are you still there?" after `idle_seconds` without a touch,
    # and the session is wiped `countdown_seconds` later.
    idle_seconds: float = 60.0
    countdown_seconds: float = 20.0
    # How often the kiosk checks the server, the reader and its journal when idle.
    poll_seconds: float = 2.0
    card_wait_seconds: float = 60.0
    # How long past the screen's own countdown the kiosk keeps a visit whose screen
    # stopped asking (a closed tab, a browser restart) before wiping it itself.
    session_grace_seconds: float = 15.0
    app_version: str = "paydesk-kiosk"

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] = os.environ, **options: object
    ) -> KioskSettings:
        """Options from the command line; timings from PAYDESK_KIOSK_*_SECONDS."""
        timings = {
            "idle_seconds": _seconds(environ, "PAYDESK_KIOSK_IDLE_SECONDS", 60.0),
            "countdown_seconds": _seconds(environ, "PAYDESK_KIOSK_COUNTDOWN_SECONDS", 20.0),
            "poll_seconds": _seconds(environ, "PAYDESK_KIOSK_POLL_SECONDS", 2.0),
            "card_wait_seconds": _seconds(environ, "PAYDESK_KIOSK_CARD_WAIT_SECONDS", 60.0),
        }
        return cls(**(timings | options))  # type: ignore[arg-type]

    @property
    def credentials_path(self) -> Path:
        return self.state_dir / "credentials.json"

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "journal.sqlite3"

    @property
    def session_lifetime(self) -> float:
        """Server-side idle expiry: past the screen's own countdown, so the screen wipes
        first; a session whose screen went away is wiped all the same."""
        return self.idle_seconds + self.countdown_seconds + self.session_grace_seconds
