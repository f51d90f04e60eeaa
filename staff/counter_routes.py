from __future__ import annotations

from starlette.routing import BaseRoute

# Counter payments, interactions, notes and follow-ups (staff console issue).
routes: list[BaseRoute] = []
