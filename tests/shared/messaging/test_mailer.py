"""The Mailer contract, run against both mailers, then what only SMTP does."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from shared.config import Settings
from shared.messaging.mailer import FileMailer, Mailer, SmtpMailer
from tests.shared.smtp_server import Certificate, SmtpServer, free_port


def settings(**changes: object) -> Settings:
    return Settings(secret_key="test-secret", smtp_host="127.0.0.1").with_(**changes)


def letter(to: str = "jane@example.com") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Riverton Payments <payments@riverton.example>"
    message["To"] = to
    message["Subject"] = "Votre reçu R-2026-000001 de la Ville"
    message.set_content("Merci, José. Montant : 12,50 $\n")
    message.add_attachment(
        b"%PDF-1.3 fake", maintype="application", subtype="pdf", filename="r.pdf"
    )
    return message


# A harness gives a mailer and a way to read back what it delivered.
Harness = Callable[[Path], AbstractContextManager[tuple[Mailer, Callable[[], list[EmailMessage]]]]]


@contextmanager
def smtp_harness(tmp: Path) -> Iterator[tuple[Mailer, Callable[[], list[EmailMessage]]]]:
    with SmtpServer() as server:
        yield (
            SmtpMailer(settings(smtp_port=server.port)),
            lambda: [r.message for r in server.received],
        )


@contextmanager
def file_harness(tmp: Path) -> Iterator[tuple[Mailer, Callable[[], list[EmailMessage]]]]:
    folder = tmp / "mail"

    def delivered() -> list[EmailMessage]:
        found = []
        for path in sorted(folder.glob("*.eml")):
            parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found

    yield FileMailer(folder), delivered


@pytest.fixture(params=[smtp_harness, file_harness], ids=["smtp", "file"])
def harness(request: pytest.FixtureRequest) -> Harness:
    return request.param  # type: ignore[no-any-return]


def test_a_sent_message_arrives_whole(harness: Harness, tmp_path: Path) -> None:
    with harness(tmp_path) as (mailer, delivered):
        mailer.send(letter())
        mailer.send(letter("bob@example.com"))
        first, second = delivered()
    assert first["Subject"] == "Votre reçu R-2026-000001 de la Ville"
    assert first["To"] == "jane@example.com"
    assert second["To"] == "bob@example.com"
    body = first.get_body(("plain",))
    assert body is not None
    assert body.get_content().splitlines() == ["Merci, José. Montant : 12,50 $"]
    (attachment,) = first.iter_attachments()
    assert attachment.get_filename() == "r.pdf"
    assert attachment.get_content() == b"%PDF-1.3 fake"


def test_file_mailer_leaves_no_partial_files(tmp_path: Path) -> None:
    FileMailer(tmp_path).send(letter())
    assert [p.suffix for p in tmp_path.iterdir()] == [".eml"]


# -- SMTP only ---------------------------------------------------------------------------


def test_nothing_listening_raises() -> None:
    mailer = SmtpMailer(settings(smtp_port=free_port()))
    with pytest.raises(OSError, match="refused"):
        mailer.send(letter())


def test_a_refused_recipient_raises() -> None:
    with SmtpServer() as server:
        server.collector.refuse.add("nobody@example.com")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            SmtpMailer(settings(smtp_port=server.port)).send(letter("nobody@example.com"))
        assert server.received == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return Certificate.make(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_and_login(tls: str, certificate: Certificate) -> None:
    with SmtpServer(tls=tls, certificate=certificate, login=("paydesk", "s3cret")) as server:
        config = settings(smtp_port=server.port, smtp_tls=tls, smtp_user="paydesk")
        SmtpMailer(
            config.with_(smtp_password="s3cret"), ssl_context=certificate.client_context()
        ).send(letter())
        assert [r.rcpt_tos for r in server.received] == [["jane@example.com"]]
        with pytest.raises(smtplib.SMTPAuthenticationError):
            SmtpMailer(
                config.with_(smtp_password="wrong"), ssl_context=certificate.client_context()
            ).send(letter())
        # By default the server's certificate must be one the system trusts.
        with pytest.raises(ssl.SSLCertVerificationError):
            SmtpMailer(config.with_(smtp_password="s3cret")).send(letter())
        assert len(server.received) == 1


def test_starttls_is_required_when_configured(certificate: Certificate) -> None:
    with SmtpServer() as server:  # a server that offers no STARTTLS
        mailer = SmtpMailer(settings(smtp_port=server.port, smtp_tls="starttls"))
        with pytest.raises(smtplib.SMTPNotSupportedError):
            mailer.send(letter())
        assert server.received == []


def test_settings_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="PAYDESK_SMTP_TLS must be one of none, starttls, ssl"):
        SmtpMailer(settings(smtp_tls="tls"))
    with pytest.raises(ValueError, match="unencrypted"):
        SmtpMailer(settings(smtp_user="paydesk", smtp_password="x"))
