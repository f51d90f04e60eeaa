"""The running system's parts, built once from settings: database, gateway, mailer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.auth.oidc import OidcClient, OidcSettings
from shared.balance_sources.refreshing import Refresher
from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from shared.gateway.protocol import PaymentGateway
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.messaging.mailer import FileMailer, Mailer, SmtpMailer

SANDBOX_MOUNT = "/sandbox-gateway"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    gateway: PaymentGateway
    mailer: Mailer
    sandbox: SandboxGateway | None = field(default=None)
    # Staff single sign-on, when PAYDESK_OIDC_ISSUER and _CLIENT_ID are set.
    oidc: OidcClient | None = field(default=None)
    # Pulled balances: one thread pool and circuit breaker for the process.
    balance_sources: Refresher = field(init=False)

    def __post_init__(self) -> None:
        self.balance_sources = Refresher(self.settings)

    def close(self) -> None:
        self.engine.dispose()
        self.balance_sources.close()
        if self.sandbox is not None:
            self.sandbox.close()
        if self.oidc is not None:
            self.oidc.close()


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    sandbox = SandboxGateway(
        settings.sandbox_gateway_url, settings.base_url.rstrip("/") + SANDBOX_MOUNT
    )
    oidc_settings = OidcSettings.from_env()
    return Runtime(
        settings=settings,
        engine=engine,
        factory=make_sessionmaker(engine, settings.keys()),
        gateway=sandbox,
        mailer=FileMailer(settings.var_dir / "mail")
        if settings.mail_backend == "file"
        else SmtpMailer(settings),
        sandbox=sandbox,
        oidc=OidcClient(oidc_settings) if oidc_settings.enabled else None,
    )
