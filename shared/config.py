"""Settings, read once from the environment (PAYDESK_*). Secrets come only from here."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

VAR_DIR = Path(os.environ.get("PAYDESK_VAR_DIR", "var"))
# Where the app mounts the sandbox source system (integrations/sandbox_source.py).
SANDBOX_SOURCE_MOUNT = "/sandbox-source"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PAYDESK_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"PAYDESK_{name}")
    return int(raw) if raw else default


def _batch_close() -> dt.time:
    """PAYDESK_BATCH_CLOSE: the wall-clock time (in PAYDESK_TIMEZONE) the card batch closes."""
    raw = _env("BATCH_CLOSE", "00:00")
    try:
        return dt.time.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"PAYDESK_BATCH_CLOSE: {raw!r} is not a time of day like 23:00") from None


def _secret_key() -> str:
    """The signing key: from the environment, else one kept under var/ (demo only)."""
    if key := os.environ.get("PAYDESK_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class WriteBackTarget:
    """Where one source system takes paid-status news, and the secret its requests are
    signed with."""

    system: str
    url: str
    secret: str


def _secret_variable(system: str) -> str:
    return "PAYDESK_WRITE_BACK_SECRET_" + re.sub(r"[^A-Z0-9]", "_", system.upper())


def _write_back_targets() -> tuple[WriteBackTarget, ...]:
    """PAYDESK_WRITE_BACK_URLS="tax=https://…,utilities=https://…", and for each system a
    PAYDESK_WRITE_BACK_SECRET_<SYSTEM> (non-alphanumerics as _). A malformed entry stops
    the start-up with a message that names it."""
    targets = []
    for entry in filter(None, (e.strip() for e in _env("WRITE_BACK_URLS", "").split(","))):
        system, _, url = (part.strip() for part in entry.partition("="))
        if not system or not url.startswith(("http://", "https://")):
            raise ValueError(f"PAYDESK_WRITE_BACK_URLS: {entry!r} is not system=http(s)://address")
        secret = os.environ.get(_secret_variable(system), "")
        if not secret:
            raise ValueError(
                f"PAYDESK_WRITE_BACK_URLS names {system!r}: set {_secret_variable(system)} "
                "to the secret its write-backs are signed with"
            )
        targets.append(WriteBackTarget(system, url, secret))
    return tuple(targets)


def _sandbox_source_systems() -> tuple[str, ...]:
    """PAYDESK_SANDBOX_SOURCE_SYSTEMS="utility-billing,…": each name becomes part of a URL."""
    systems = tuple(
        filter(None, (s.strip() for s in _env("SANDBOX_SOURCE_SYSTEMS", "").split(",")))
    )
    for system in systems:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", system):
            raise ValueError(
                f"PAYDESK_SANDBOX_SOURCE_SYSTEMS: {system!r} is not a system name "
                "(lower-case letters, digits, - and _; at most 40)"
            )
    return systems


@dataclass(frozen=True)
class Settings:
    # Where the demo keeps its databases, secret key, settlement reports and mail.
    var_dir: Path = field(default_factory=lambda: VAR_DIR)
    database_url: str = field(
        default_factory=lambda: _env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'paydesk.db'}")
    )
    # The sandbox processor keeps its state apart from ours, as a real one would.
    sandbox_gateway_url: str = field(
        default_factory=lambda: _env(
            "SANDBOX_GATEWAY_URL", f"sqlite:///{VAR_DIR / 'sandbox-gateway.db'}"
        )
    )
    secret_key: str = field(default_factory=_secret_key)
    base_url: str = field(default_factory=lambda: _env("BASE_URL", "http://127.0.0.1:8000"))
    currency: str = field(default_factory=lambda: _env("CURRENCY", "CAD"))
    org_name: str = field(default_factory=lambda: _env("ORG_NAME", "City of Riverton"))
    default_locale: str = field(default_factory=lambda: _env("DEFAULT_LOCALE", "en"))
    # Receipts and pages show local time; the database keeps UTC.
    timezone: str = field(default_factory=lambda: _env("TIMEZONE", "America/Toronto"))
    # The card processor's batch closes daily at this local time; a posted card payment is
    # expected to settle then, and is late after it.
    batch_close: dt.time = field(default_factory=_batch_close)
    # smtp | file (the demo writes .eml files under var/mail instead of sending)
    mail_backend: str = field(default_factory=lambda: _env("MAIL_BACKEND", "smtp"))
    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", "127.0.0.1"))
    smtp_port: int = field(default_factory=lambda: _env_int("SMTP_PORT", 25))
    # none | starttls | ssl
    smtp_tls: str = field(default_factory=lambda: _env("SMTP_TLS", "none"))
    smtp_user: str = field(default_factory=lambda: _env("SMTP_USER", ""))
    smtp_password: str = field(default_factory=lambda: _env("SMTP_PASSWORD", ""))
    mail_from: str = field(
        default_factory=lambda: _env("MAIL_FROM", "Riverton Payments <payments@riverton.example>")
    )
    # A pending payment older than this with no answer is in doubt: the recovery job asks.
    recovery_after_seconds: int = field(
        default_factory=lambda: _env_int("RECOVERY_AFTER_SECONDS", 30)
    )
    worker_interval_seconds: int = field(
        default_factory=lambda: _env_int("WORKER_INTERVAL_SECONDS", 2)
    )
    session_idle_minutes: int = field(default_factory=lambda: _env_int("SESSION_IDLE_MINUTES", 15))
    session_absolute_hours: int = field(
        default_factory=lambda: _env_int("SESSION_ABSOLUTE_HOURS", 8)
    )
    # Cookies are Secure unless explicitly served over plain HTTP (the demo on loopback).
    secure_cookies: bool = field(
        default_factory=lambda: (
            _env("SECURE_COOKIES", "auto") == "true"
            or (
                _env("SECURE_COOKIES", "auto") == "auto"
                and _env("BASE_URL", "").startswith("https")
            )
        )
    )
    # Staff holding any of these roles must use a TOTP code to sign in.
    mfa_required_roles: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            r.strip()
            for r in _env("MFA_REQUIRED_ROLES", "supervisor,admin").split(",")
            if r.strip()
        )
    )
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    # Source systems told when their bills are paid (accounts name theirs in source_system).
    write_back_targets: tuple[WriteBackTarget, ...] = field(default_factory=_write_back_targets)
    # Source systems played by the sandbox source system under /sandbox-source (the demo's
    # utility billing). One not in PAYDESK_WRITE_BACK_URLS gets its write-backs there.
    sandbox_source_systems: tuple[str, ...] = field(default_factory=_sandbox_source_systems)

    def write_back_target(self, system: str) -> WriteBackTarget | None:
        configured = next((t for t in self.write_back_targets if t.system == system), None)
        if configured is None and system in self.sandbox_source_systems:
            # Worked out on each call, not stored: `with_(base_url=…)` must move it too.
            url = f"{self.base_url.rstrip('/')}{SANDBOX_SOURCE_MOUNT}/{system}/payments"
            return WriteBackTarget(system, url, self._sandbox_source_secret(system))
        return configured

    def _sandbox_source_secret(self, system: str) -> str:
        # Derived from the secret key, so the sender and the sandbox agree with nothing
        # to configure, and each system's secret differs.
        message = f"sandbox-source:{system}".encode()
        return hmac.new(self.secret_key.encode(), message, hashlib.sha256).hexdigest()

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
