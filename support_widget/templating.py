from __future__ import annotations

from pathlib import Path

from shared.config import Settings
from shared.web.templating import make_templates

# Help screens name what a person paid: never kept by a shared or browser cache.
NO_STORE = {"Cache-Control": "no-store"}

templates = make_templates(
    Path(__file__).resolve().parent / "templates", globals_={"org_name": Settings().org_name}
)
