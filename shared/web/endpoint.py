"""Where a request's database session is opened and closed, and how pages are answered.

Views are plain sync functions `view(request, db) -> Response`: services take a
session and never make one, and the sync ORM runs in a worker thread so the event
loop keeps serving other requests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from shared.db import finish_read, read_only_session
from shared.web.control_characters import refuse_control_characters
from shared.web.csrf import SAFE_METHODS

View = Callable[[Request, Session], Response]
Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


def _run(view: View, request: Request, factory: sessionmaker[Session], commit: bool) -> Response:
    # A read never writes: PostgreSQL refuses a write in it, SQLite's is rolled back.
    reads = not commit and not getattr(view, "writes_on_get", False)
    db = read_only_session(factory) if reads else factory()
    try:
        response = view(request, db)
        if commit:
            db.commit()
        elif reads:
            finish_read(db)
        else:
            db.rollback()  # what a GET meant to keep, it committed itself
        return response
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()


def page(view: View) -> Endpoint:
    """Make `view(request, db)` a Starlette endpoint with one database session.

    For unsafe methods the form is read first (the view cannot await) and put on
    `request.state.form`, refused with a 400 if a field holds a control character; the
    session commits if the view returns and rolls back if it raises. Raise (e.g.
    HTTPException) to undo; returning a 4xx still commits, so a failed login can count
    the attempt.
    """

    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        factory: sessionmaker[Session] | None = getattr(request.app.state, "db", None)
        if factory is None:
            raise RuntimeError("app.state.db must hold the sessionmaker")
        unsafe = request.method not in SAFE_METHODS
        form = await request.form() if unsafe else FormData()
        request.state.form = form
        try:
            refuse_control_characters(form)
            return await run_in_threadpool(_run, view, request, factory, unsafe)
        finally:
            # Uploaded files are spooled to temporary files; close them.
            await form.close()

    return endpoint


def writes_on_get(view: View) -> View:
    """Mark a view whose GET must write, committing what it keeps: the return from the
    processor's payment page, a receipt's first showing. Other GETs cannot write."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def wants_fragment(request: Request) -> bool:
    # A boosted link or a history restore replaces the whole page, so it gets the page.
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def fragment_or_page(
    request: Request,
    templates: Jinja2Templates,
    page_template: str,
    partial: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The whole page, or for htmx only its swappable part.

    `partial` is a block of `page_template` ("results") or a template of its own
    ("includes/results.html").
    """
    if not wants_fragment(request):
        response: Response = templates.TemplateResponse(
            request, page_template, dict(context or {}), status_code, headers
        )
    else:
        values = dict(context or {})
        values.setdefault("request", request)
        for processor in templates.context_processors:
            values.update(processor(request))
        if "/" in partial or "." in partial:
            html = templates.get_template(partial).render(values)
        else:
            template = templates.get_template(page_template)
            html = "".join(template.blocks[partial](template.new_context(values)))
        response = HTMLResponse(html, status_code, headers)
    # Caches must not give an htmx fragment to a full page load, or the reverse.
    response.headers.add_vary_header("HX-Request")
    return response
