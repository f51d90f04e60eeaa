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

from shared.db import SessionKeys

VAR_DIR = Path(os.environ.get("PAYDESK_VAR_DIR", "var"))
# Where the app mounts the sandbox source system (integrations/sandbox_source.py).
SANDBOX_SOURCE_MOUNT = "/sandbox-source"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PAYDESK_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"PAYDESK_{name}")
    return int(raw) if raw else default


def _env_list(name: str, default: str = "") -> tuple[str, ...]:
    """A comma-separated list, each item trimmed, empty items dropped."""
    return tuple(item.strip() for item in _env(name, default).split(",") if item.strip())


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


def secret_variable(system: str) -> str:
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
        secret = os.environ.get(secret_variable(system), "")
        if not secret:
            raise ValueError(
                f"PAYDESK_WRITE_BACK_URLS names {system!r}: set {secret_variable(system)} "
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


_DURATION = re.compile(r"(\d{1,6})([mhd])")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}
SUPPORT_PRIORITIES = ("urgent", "high", "normal", "low")
DEFAULT_SUPPORT_SLA = "urgent=30m/4h,high=1h/8h,normal=4h/2d,low=1d/5d"


def _minutes(text: str, entry: str) -> int:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(
            f"PAYDESK_SUPPORT_SLA: {entry!r}: {text!r} is not a duration like 30m, 4h or 2d"
        )
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def _support_sla() -> tuple[tuple[str, int, int], ...]:
    """PAYDESK_SUPPORT_SLA="urgent=30m/4h,high=1h/8h,…": per priority, the first response
    and the resolution targets, as (priority, minutes, minutes). Every priority must be
    named; a malformed entry stops the start-up with a message that names it."""
    found: dict[str, tuple[int, int]] = {}
    for entry in filter(
        None, (e.strip() for e in _env("SUPPORT_SLA", DEFAULT_SUPPORT_SLA).split(","))
    ):
        priority, _, targets = (part.strip() for part in entry.partition("="))
        first, slash, resolution = targets.partition("/")
        if priority not in SUPPORT_PRIORITIES or not slash:
            raise ValueError(
                f"PAYDESK_SUPPORT_SLA: {entry!r} is not priority=first-response/resolution "
                f"(priorities: {', '.join(SUPPORT_PRIORITIES)})"
            )
        found[priority] = (_minutes(first, entry), _minutes(resolution, entry))
    missing = [p for p in SUPPORT_PRIORITIES if p not in found]
    if missing:
        raise ValueError(f"PAYDESK_SUPPORT_SLA: no targets for {', '.join(missing)}")
    return tuple((p, *found[p]) for p in SUPPORT_PRIORITIES)


def _widget_origins() -> tuple[str, ...]:
    """PAYDESK_WIDGET_ORIGINS="https://www.riverton.example,…": other sites that may embed
    the help widget (the portal itself always may). Each is a scheme, a host and a port at
    most: exactly what a browser sends in its Origin header."""
    origins = []
    for origin in filter(None, (o.strip() for o in _env("WIDGET_ORIGINS", "").split(","))):
        if not re.fullmatch(r"https?://[a-z0-9.-]+(:\d{1,5})?", origin):
            raise ValueError(
                f"PAYDESK_WIDGET_ORIGINS: {origin!r} is not an origin like "
                "https://www.example.gov (lower case, no path, no trailing slash)"
            )
        origins.append(origin)
    return tuple(origins)


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
    # The audit chain's HMAC key (shared/audit.py); empty: derived from the secret key.
    # Its own setting lets the secret key be rotated without re-keying the chain.
    audit_key: str = field(default_factory=lambda: _env("AUDIT_KEY", ""))
    base_url: str = field(default_factory=lambda: _env("BASE_URL", "http://127.0.0.1:8000"))
    # Host names a request may name besides the base URL's (shared/web/hosts.py); a leading
    # "*." allows every subdomain. Absolute URLs still use the base URL.
    allowed_hosts: tuple[str, ...] = field(default_factory=lambda: _env_list("ALLOWED_HOSTS"))
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
    # A card payment still in doubt after this long goes to the exceptions queue.
    in_doubt_exception_minutes: int = field(
        default_factory=lambda: _env_int("IN_DOUBT_EXCEPTION_MINUTES", 15)
    )
    # An approval request not decided in this many hours expires.
    approval_expires_hours: int = field(
        default_factory=lambda: _env_int("APPROVAL_EXPIRES_HOURS", 72)
    )
    # A cashier may void their own counter payment this soon after taking it without
    # approval (0: every void needs a supervisor).
    self_void_minutes: int = field(default_factory=lambda: _env_int("SELF_VOID_MINUTES", 10))
    # A write-back that failed this many times goes to the exceptions queue.
    write_back_exception_attempts: int = field(
        default_factory=lambda: _env_int("WRITE_BACK_EXCEPTION_ATTEMPTS", 5)
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
    # Staff holding any permission matching one of these (anywhere, through any role, custom
    # ones too) must sign in with a second factor: a TOTP code, or the IdP's multi-factor.
    # "*" matches any part: "admin:*" is every administration permission.
    mfa_required_permissions: tuple[str, ...] = field(
        default_factory=lambda: _env_list(
            "MFA_REQUIRED_PERMISSIONS", "admin:*,*:approve,payments:take"
        )
    )
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    # Source systems told when their bills are paid (accounts name theirs in source_system).
    write_back_targets: tuple[WriteBackTarget, ...] = field(default_factory=_write_back_targets)
    # Source systems played by the sandbox source system under /sandbox-source (the demo's
    # utility billing). One not in PAYDESK_WRITE_BACK_URLS gets its write-backs there.
    sandbox_source_systems: tuple[str, ...] = field(default_factory=_sandbox_source_systems)
    # Balances pulled from a source system (shared/balance_sources): an account's balance
    # older than this is asked again when a page shows it or a payment is about to take it.
    balance_max_age_seconds: int = field(
        default_factory=lambda: _env_int("BALANCE_MAX_AGE_SECONDS", 300)
    )
    # A system that failed this many times in a row is not asked for this many seconds.
    # Calls one integration client may make per minute (the push API; a bulk call is one).
    api_client_calls_per_minute: int = field(
        default_factory=lambda: _env_int("API_CLIENT_CALLS_PER_MINUTE", 600)
    )
    balance_breaker_failures: int = field(
        default_factory=lambda: _env_int("BALANCE_BREAKER_FAILURES", 3)
    )
    balance_breaker_seconds: int = field(
        default_factory=lambda: _env_int("BALANCE_BREAKER_SECONDS", 60)
    )
    # After a webhook secret is rotated, the old one still signs for this many hours.
    webhook_secret_overlap_hours: int = field(
        default_factory=lambda: _env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
    )
    # Support requests: first-response and resolution targets per priority, in minutes.
    support_sla: tuple[tuple[str, int, int], ...] = field(default_factory=_support_sla)
    # A request is "at risk" once this share of a target's time is used.
    support_sla_at_risk_percent: int = field(
        default_factory=lambda: _env_int("SUPPORT_SLA_AT_RISK_PERCENT", 75)
    )
    # Other sites that may embed the help widget (origins, as browsers send them).
    widget_origins: tuple[str, ...] = field(default_factory=_widget_origins)
    # Where kiosks send a card to be tokenized; empty: the sandbox processor's endpoint.
    card_present_url: str = field(default_factory=lambda: _env("CARD_PRESENT_URL", ""))
    # Kiosks send a heartbeat this often; one that missed three is shown offline.
    kiosk_heartbeat_seconds: int = field(
        default_factory=lambda: _env_int("KIOSK_HEARTBEAT_SECONDS", 30)
    )
    # Finance (shared.finance). A drawer counted over or short by more than this (minor
    # units) needs a supervisor's approval to close.
    drawer_tolerance: int = field(default_factory=lambda: _env_int("DRAWER_TOLERANCE", 500))
    # The processor's fee on each card sale, in basis points (175 = 1.75 %).
    card_fee_basis_points: int = field(
        default_factory=lambda: _env_int("CARD_FEE_BASIS_POINTS", 175)
    )
    # A bank line matches a deposit booked on its business day up to this many days later;
    # what is still unmatched after that is a reconciliation break.
    reconcile_window_days: int = field(default_factory=lambda: _env_int("RECONCILE_WINDOW_DAYS", 3))
    gl_cash: str = field(default_factory=lambda: _env("GL_CASH", "1010-CASH"))
    gl_card_clearing: str = field(
        default_factory=lambda: _env("GL_CARD_CLEARING", "1020-CARD-CLEARING")
    )
    gl_card_fees: str = field(default_factory=lambda: _env("GL_CARD_FEES", "6100-CARD-FEES"))
    gl_over_short: str = field(default_factory=lambda: _env("GL_OVER_SHORT", "6150-OVER-SHORT"))
    gl_receivable: str = field(default_factory=lambda: _env("GL_RECEIVABLE", "1200-RECEIVABLE"))
    gl_unapplied: str = field(default_factory=lambda: _env("GL_UNAPPLIED", "2400-UNAPPLIED"))

    def write_back_target(self, system: str) -> WriteBackTarget | None:
        configured = next((t for t in self.write_back_targets if t.system == system), None)
        if configured is None and system in self.sandbox_source_systems:
            # Worked out on each call, not stored: `with_(base_url=…)` must move it too.
            url = f"{self.base_url.rstrip('/')}{SANDBOX_SOURCE_MOUNT}/{system}/payments"
            return WriteBackTarget(system, url, self._sandbox_source_secret(system))
        return configured

    def source_secret(self, system: str) -> str | None:
        """The secret Paydesk shares with a source system: it signs write-backs and balance
        pulls alike. PAYDESK_WRITE_BACK_SECRET_<SYSTEM>, or the sandbox's derived one."""
        if secret := os.environ.get(secret_variable(system)):
            return secret
        target = self.write_back_target(system)
        return target.secret if target is not None else None

    def _sandbox_source_secret(self, system: str) -> str:
        # Derived from the secret key, so the sender and the sandbox agree with nothing
        # to configure, and each system's secret differs.
        message = f"sandbox-source:{system}".encode()
        return hmac.new(self.secret_key.encode(), message, hashlib.sha256).hexdigest()

    def _derived(self, purpose: str) -> bytes:
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()

    def keys(self) -> SessionKeys:
        """The keys every session needs (`shared.db.make_sessionmaker`)."""
        audit = self.audit_key.encode() if self.audit_key else self._derived("audit-chain")
        return SessionKeys(audit=audit, lookup=self._derived("rate-limit-keys"))

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
