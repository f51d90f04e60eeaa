from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shared.placeholder import placeholder

# Sign-in, search and the customer view land with the staff console issue.
routes: list[BaseRoute] = [
    Route("/", placeholder("Staff console", "Staff sign-in is not available yet."), name="home")
]
