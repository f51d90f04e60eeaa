from __future__ import annotations

from starlette.routing import BaseRoute

# The receipt page, PDF, email, and "did my payment go through?" (portal issue).
routes: list[BaseRoute] = []
