"""The kiosk runtime's web app: the screens a locked-down Chromium shows on 127.0.0.1.

`create_kiosk_app(settings)` runs it alone (`paydesk kiosk`); `KioskApp.app` can also be
mounted inside another app (the demo mounts a simulated kiosk at /kiosk/), which then
starts and stops it from its own lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.types import ASGIApp

from kiosk.devices import Devices
from kiosk.routes import routes
from kiosk.service import KioskService
from kiosk.settings import KioskSettings
from kiosk.templating import make_environment
from shared.web.security import DEFAULT_CSP, SecurityHeadersMiddleware


class KioskApp:
    """The kiosk's service and its Starlette app, sharing one life."""

    def __init__(self, settings: KioskSettings, devices: Devices | None = None) -> None:
        self.settings = settings
        self.devices = devices or Devices.open(
            settings.reader, settings.printer, settings.state_dir, settings.printer_width
        )
        self.service = KioskService(settings, self.devices)
        self.app = Starlette(routes=routes)
        self.app.state.kiosk = self.service
        self.app.state.templates = make_environment()

    async def start(self) -> None:
        await self.service.start()

    async def stop(self) -> None:
        await self.service.stop()

    def asgi(self) -> ASGIApp:
        """The standalone kiosk, with its own security headers (the same CSP as the
        fronts) and a lifespan that starts and stops the service."""

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        outer = Starlette(lifespan=lifespan)
        outer.mount("/", self.app)
        return SecurityHeadersMiddleware(outer, csp=DEFAULT_CSP, hsts=False)


def create_kiosk_app(settings: KioskSettings, devices: Devices | None = None) -> ASGIApp:
    return KioskApp(settings, devices).asgi()
