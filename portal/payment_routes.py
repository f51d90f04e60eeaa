from __future__ import annotations

from starlette.routing import BaseRoute

# Find what I owe, the basket, check and pay, the confirmation (portal issue).
routes: list[BaseRoute] = []
