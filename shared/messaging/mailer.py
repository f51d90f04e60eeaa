"""Sending email: over SMTP in production, into a folder of .eml files for the demo."""

from __future__ import annotations

import os
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from shared.config import Settings
from shared.db import utcnow

TLS_MODES = ("none", "starttls", "ssl")


class Mailer(Protocol):
    """Sends one email, or raises: the outbox retries a message whose send raised."""

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to be delivered to its To/Cc/Bcc recipients; raise on any failure."""
        ...


class SmtpMailer:
    """Sends through the SMTP server in settings (`smtp_tls`: none, starttls or ssl).

    `ssl_context` overrides the system's trusted certificates (a relay signed by a
    private authority, or a test server).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10,
    ) -> None:
        if settings.smtp_tls not in TLS_MODES:
            raise ValueError(
                f"PAYDESK_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {settings.smtp_tls!r}"
            )
        if settings.smtp_user and settings.smtp_tls == "none":
            raise ValueError(
                "An SMTP password would be sent unencrypted: "
                "set PAYDESK_SMTP_TLS to starttls or ssl"
            )
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.tls = settings.smtp_tls
        self.user = settings.smtp_user
        self.password = settings.smtp_password
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, message: EmailMessage) -> None:
        with self._connect() as smtp:
            if self.tls == "starttls":
                smtp.starttls(context=self.ssl_context)
            if self.user:
                smtp.login(self.user, self.password)
            refused = smtp.send_message(message)
        if refused:
            # Some recipients were refused: a retry would reach them, and the others twice.
            raise smtplib.SMTPRecipientsRefused(refused)


class FileMailer:
    """The simulated mailer: writes each message to `directory` as a .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(message.as_bytes())
        # Readers see a whole message or none.
        os.replace(partial, self.directory / name)
