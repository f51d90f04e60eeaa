"""Assemble the one Starlette app: a mount per front, the middleware, health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

import portal.routes
import staff.routes
import support_widget.routes
from integrations.api.app import create_api
from integrations.sandbox_source import sandbox_source_app
from kiosk.app import KioskApp
from paydesk.runtime import SANDBOX_MOUNT, Runtime, build_runtime
from paydesk.worker import Worker
from shared.config import SANDBOX_SOURCE_MOUNT, Settings
from shared.gateway.sandbox.hosted import hosted_app
from shared.i18n import LocaleMiddleware
from shared.web.control_characters import NulGuardMiddleware
from shared.web.csrf import CSRFMiddleware
from shared.web.errors import exception_handlers
from shared.web.hosts import BaseUrlHostMiddleware
from shared.web.placeholder import placeholder
from shared.web.request_id import RequestIdMiddleware
from shared.web.security import DEFAULT_CSP, SecurityHeadersMiddleware
from shared.web.sessions import ServerSessionMiddleware

SUPPORT_MOUNT = "/support"
KIOSK_MOUNT = "/kiosk"
# On a server, /kiosk/ says where kiosks run; the demo mounts a simulated one there.
NO_KIOSK_HERE = placeholder(
    "Kiosk",
    "Lobby kiosks run on their own machine (paydesk kiosk --server URL --terminal ID) "
    "and talk to this server's kiosk API. `paydesk demo` runs a simulated one here.",
)


def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz(request: Request) -> Response:
    """Ready when the database answers."""
    runtime: Runtime = request.app.state.runtime
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


FAVICON = Path(__file__).resolve().parents[1] / "shared" / "static" / "shared" / "favicon.ico"


def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page says; answer it rather than 404."""
    return FileResponse(FAVICON, headers={"Cache-Control": "public, max-age=86400"})


def create_app(
    runtime: Runtime, *, run_worker: bool = False, kiosk: KioskApp | None = None
) -> Starlette:
    """The whole server. `kiosk`: a kiosk runtime to mount at /kiosk/ (the demo's)."""
    settings = runtime.settings
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, name="healthz"),
        Route("/readyz", readyz, name="readyz"),
        Route("/favicon.ico", favicon, name="favicon"),
        # Static files are compressed (htmx is 52 KB raw, 17 KB gzipped), pages are not:
        # compressing pages that carry a CSRF token beside reflected input invites BREACH.
        Mount(
            "/static",
            GZipMiddleware(StaticFiles(packages=[("shared", "static")]), minimum_size=800),
            name="static",
        ),
        Mount("/staff", routes=staff.routes.routes, name="staff"),
        (
            Mount(KIOSK_MOUNT, app=kiosk.app, name="kiosk")
            if kiosk is not None
            else Mount(KIOSK_MOUNT, routes=[Route("/", NO_KIOSK_HERE)], name="kiosk")
        ),
        Mount(SUPPORT_MOUNT, routes=support_widget.routes.routes, name="support"),
        Mount("/api", app=create_api(runtime), name="api"),
    ]
    if runtime.sandbox is not None:
        routes.append(Mount(SANDBOX_MOUNT, app=hosted_app(runtime.sandbox), name="sandbox"))
    if settings.sandbox_source_systems:
        routes.append(
            Mount(SANDBOX_SOURCE_MOUNT, app=sandbox_source_app(settings), name="sandbox_source")
        )
    routes.append(Mount("/", routes=portal.routes.routes, name="portal"))

    middleware = [
        # First: a NUL in the address never reaches a session, a view or the database.
        Middleware(NulGuardMiddleware),
        Middleware(LocaleMiddleware),
        Middleware(
            ServerSessionMiddleware,
            factory=runtime.factory,
            settings=settings,
            # The API answers bearer tokens, never cookies: no session to read or write.
            skip_prefixes=("/static/", "/favicon.ico", "/api/", KIOSK_MOUNT + "/"),
        ),
        # These check their own proof (bearer tokens, the card page's form token, signatures;
        # the help widget: the Origin allowlist and its own form token, as it sends no cookie).
        Middleware(
            CSRFMiddleware,
            exempt_prefixes=(
                "/api/",
                SUPPORT_MOUNT + "/",
                # The kiosk checks its own per-visit token and the Origin.
                KIOSK_MOUNT + "/",
                SANDBOX_MOUNT + "/",
                SANDBOX_SOURCE_MOUNT + "/",
            ),
        ),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = Worker(runtime) if run_worker else None
        thread = worker.start_in_thread() if worker else None
        if kiosk is not None:
            await kiosk.start()
        try:
            yield
        finally:
            if kiosk is not None:
                await kiosk.stop()
            if worker and thread:
                worker.stopping.set()
                thread.join(timeout=10)

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.db = runtime.factory
    return app


def asgi(app: Starlette) -> ASGIApp:
    """What the server runs. Request ids and security headers wrap the Starlette app from
    outside, so even a crash page (answered by Starlette's outermost layer) carries them;
    inside them, a request naming another host is refused before anything reads it."""
    settings: Settings = app.state.settings
    return RequestIdMiddleware(
        SecurityHeadersMiddleware(
            BaseUrlHostMiddleware(app, settings.base_url, settings.allowed_hosts),
            csp=DEFAULT_CSP,
            hsts=settings.base_url.startswith("https"),
        )
    )


def app_from_environment() -> ASGIApp:
    """Factory for `uvicorn --factory` with several server processes (production)."""
    runtime = build_runtime()
    return asgi(create_app(runtime, run_worker=runtime.engine.dialect.name == "sqlite"))
