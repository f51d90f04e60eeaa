"""Reading back the demo's mail: the .eml files `FileMailer` writes, for the staff
console's demo mail viewer. Names are checked before any path is built from them."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from shared.config import Settings

# What FileMailer names a message: its UTC time, then a random part.
NAME = re.compile(r"(\d{8}T\d{12})-[0-9a-f]{8}\.eml")


def folder_of(settings: Settings) -> Path | None:
    """Where the simulated mailer keeps mail; None when mail really goes out (SMTP)."""
    return settings.var_dir / "mail" if settings.mail_backend == "file" else None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class StoredMessage:
    name: str
    written_at: dt.datetime
    sender: str
    to: str
    subject: str
    text: str
    attachments: tuple[Attachment, ...]


def _bytes_of(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _parse(path: Path) -> StoredMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    attachments = tuple(
        Attachment(
            part.get_filename() or "attachment",
            part.get_content_type(),
            _bytes_of(part),
        )
        for part in message.iter_attachments()
    )
    stamp = NAME.fullmatch(path.name)
    assert stamp is not None
    return StoredMessage(
        name=path.name,
        written_at=dt.datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        text=body.get_content() if body is not None else "",
        attachments=attachments,
    )


def messages(folder: Path) -> list[StoredMessage]:
    """Every message written so far, newest first."""
    if not folder.is_dir():
        return []
    paths = sorted((p for p in folder.iterdir() if NAME.fullmatch(p.name)), reverse=True)
    return [_parse(path) for path in paths]


def message(folder: Path, name: str) -> StoredMessage | None:
    """One message by its file name; None for a name FileMailer never writes."""
    if not NAME.fullmatch(name) or not (folder / name).is_file():
        return None
    return _parse(folder / name)
