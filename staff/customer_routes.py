from __future__ import annotations

from starlette.routing import BaseRoute

# Search, the 360-degree customer view and payment detail (staff console issue).
routes: list[BaseRoute] = []
