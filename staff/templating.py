from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shared.config import Settings
from shared.messaging import mail_folder
from shared.web.templating import make_templates

# Staff pages show people's details: never kept by a shared or browser cache.
NO_STORE = {"Cache-Control": "no-store"}

templates = make_templates(
    Path(__file__).resolve().parent / "templates", globals_={"org_name": Settings().org_name}
)


def _signed_in(request: Request) -> dict[str, Any]:
    # Every page's layout shows who is signed in (or nobody, on the sign-in pages), and
    # where mail goes to files (the demo), the way to what was "sent".
    settings: Settings = request.app.state.settings
    return {
        "staff": getattr(request.state, "staff", None),
        "demo_mail": mail_folder.folder_of(settings) is not None,
    }


templates.context_processors.append(_signed_in)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request, name, context or {}, status_code=status_code, headers=NO_STORE | (headers or {})
    )
