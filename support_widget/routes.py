from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shared.web.placeholder import placeholder

# The embeddable help widget lands with the support widget issue.
routes: list[BaseRoute] = [
    Route("/", placeholder("Help", "Call 311 for help with a payment."), name="home")
]
