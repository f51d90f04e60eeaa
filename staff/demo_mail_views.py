"""The demo's mail viewer: what the simulated mailer "sent" (receipt emails included).

Only where mail goes to files (`PAYDESK_MAIL_BACKEND=file`, the demo's default); with a
real SMTP server the messages are in real mailboxes, and these pages answer 404.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.messaging import mail_folder
from shared.web.endpoint import page
from staff.access import SIGNED_IN, requires
from staff.templating import NO_STORE, render
from staff.web import settings_of


def _folder(request: Request) -> Path:
    folder = mail_folder.folder_of(settings_of(request))
    if folder is None:
        raise HTTPException(404)
    return folder


def _message(request: Request) -> mail_folder.StoredMessage:
    found = mail_folder.message(_folder(request), request.path_params["name"])
    if found is None:
        raise HTTPException(404)
    return found


@page
@requires(SIGNED_IN)
def inbox(request: Request, db: Session) -> Response:
    context = {"messages": mail_folder.messages(_folder(request))}
    return render(request, "staff/demo_mail/inbox.html", context)


@page
@requires(SIGNED_IN)
def message(request: Request, db: Session) -> Response:
    return render(request, "staff/demo_mail/message.html", {"message": _message(request)})


@page
@requires(SIGNED_IN)
def attachment(request: Request, db: Session) -> Response:
    attachments = _message(request).attachments
    index = request.path_params["index"]
    if index >= len(attachments):
        raise HTTPException(404)
    found = attachments[index]
    # Served as a download: a demo message's attachment is not a page of ours.
    disposition = f'attachment; filename="{found.filename.replace(chr(34), "")}"'
    return Response(
        found.content,
        media_type=found.content_type,
        headers=NO_STORE | {"Content-Disposition": disposition},
    )
