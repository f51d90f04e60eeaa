"""Setting a source system's balance source (`admin:integrations`), audited."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.config import SANDBOX_SOURCE_MOUNT, Settings, secret_variable
from shared.db import utcnow
from shared.i18n import N_, gettext_
from shared.models import Account, BalanceSourceSetting, SourceMode

LOCAL = "local"
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 100, 10_000


@dataclass(frozen=True, slots=True)
class SystemSource:
    """A source system as the administrator sees it."""

    system: str
    mode: SourceMode
    url: str
    timeout_ms: int
    has_secret: bool
    secret_variable: str
    sandbox: bool


class SourceRefused(Exception):
    """A field that cannot be saved as typed; `message` in the reader's language."""

    def __init__(self, field: str, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.field, self._message, self._values = field, message, values

    @property
    def message(self) -> str:
        text = gettext_(self._message)
        return text % self._values if self._values else text


def systems(session: Session, settings: Settings) -> list[SystemSource]:
    """Every source system accounts name (and any the sandbox plays), with its source."""
    names = set(session.scalars(select(Account.source_system).distinct())) - {LOCAL}
    names |= set(settings.sandbox_source_systems)
    rows = {s.system: s for s in session.scalars(select(BalanceSourceSetting))}
    names |= set(rows)
    found = []
    for name in sorted(names):
        row = rows.get(name)
        found.append(
            SystemSource(
                name,
                row.mode if row else SourceMode.LOCAL,
                (row.url or "") if row else "",
                row.timeout_ms if row else 2000,
                settings.source_secret(name) is not None,
                secret_variable(name),
                name in settings.sandbox_source_systems,
            )
        )
    return found


def sandbox_url(settings: Settings, system: str) -> str:
    """Where the sandbox source system answers balance pulls for `system`."""
    return f"{settings.base_url.rstrip('/')}{SANDBOX_SOURCE_MOUNT}/{system}/balances"


def set_source(
    session: Session,
    settings: Settings,
    actor: Actor,
    system: SystemSource,
    mode: str,
    url: str,
    timeout_text: str,
) -> BalanceSourceSetting:
    """Record where `system`'s balances come from; SourceRefused names a field to fix."""
    try:
        chosen = SourceMode(mode)
    except ValueError:
        raise SourceRefused("mode", N_("Choose where the balances come from.")) from None
    url = url.strip()
    if holds_card_number(url):
        raise SourceRefused("url", CARD_NUMBER_REFUSED)
    try:
        timeout_ms = int(timeout_text.strip() or "2000")
    except ValueError:
        timeout_ms = -1
    if not MIN_TIMEOUT_MS <= timeout_ms <= MAX_TIMEOUT_MS:
        raise SourceRefused(
            "timeout",
            N_("Enter a timeout between %(low)s and %(high)s milliseconds."),
            low=MIN_TIMEOUT_MS,
            high=MAX_TIMEOUT_MS,
        )
    if chosen is SourceMode.PULL:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            raise SourceRefused(
                "url",
                N_("Enter the address of the system's balance endpoint, starting with https://."),
            )
        if not system.has_secret:
            raise SourceRefused(
                "url",
                N_(
                    "This system has no shared secret to sign requests with: set "
                    "%(variable)s in the server's environment first."
                ),
                variable=system.secret_variable,
            )
    row = session.get(BalanceSourceSetting, system.system)
    before = None if row is None else {"mode": str(row.mode), "url": row.url, "ms": row.timeout_ms}
    if row is None:
        row = BalanceSourceSetting(system=system.system, updated_by=actor.id)
        session.add(row)
    row.mode, row.timeout_ms = chosen, timeout_ms
    row.url = url or None
    row.updated_by, row.updated_at = actor.id, utcnow()
    audit.record(
        session,
        actor,
        audit.AuditAction.BALANCE_SOURCE_SET,
        "source_system",
        system.system,
        {"before": before, "after": {"mode": str(chosen), "url": row.url, "ms": timeout_ms}},
    )
    session.flush()
    return row
