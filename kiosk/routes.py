from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shared.web.placeholder import placeholder

# The kiosk screens land with the kiosk runtime issue.
routes: list[BaseRoute] = [
    Route("/", placeholder("Kiosk", "This kiosk is not in service yet."), name="home")
]
