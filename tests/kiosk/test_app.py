"""The kiosk runtime runs on a machine with no Paydesk database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_kiosk_runtime_loads_without_the_database_layer() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kiosk.app, kiosk.views, kiosk.payment, kiosk.client;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in"
            " ('sqlalchemy', 'psycopg', 'alembic')"
            " or m.startswith(('shared.models', 'shared.db'))))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
