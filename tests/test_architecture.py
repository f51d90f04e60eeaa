"""The dependency rules of DESIGN.md §2, checked on every import in the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONTS = {"portal", "staff", "kiosk", "support_widget", "integrations"}
OURS = FRONTS | {"paydesk", "shared", "kiosk_devices"}
# kiosk_devices runs on a kiosk with no database: only small value types may come in.
KIOSK_DEVICES_MAY_IMPORT = {"shared.receipt_layout"}


def _imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
            elif isinstance(node, ast.Import):
                found.extend((path, alias.name) for alias in node.names)
    return [(path, name) for path, name in found if name.split(".")[0] in OURS]


@pytest.mark.parametrize("front", sorted(FRONTS))
def test_fronts_never_import_each_other_or_the_entry(front: str) -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, name in _imports(front)
        if name.split(".")[0] in (FRONTS | {"paydesk"}) - {front}
    ]
    assert bad == []


def test_shared_imports_no_front() -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, name in _imports("shared")
        if name.split(".")[0] in FRONTS | {"paydesk", "kiosk_devices"}
    ]
    assert bad == []


def test_kiosk_devices_imports_only_small_value_types() -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, name in _imports("kiosk_devices")
        if name.split(".")[0] != "kiosk_devices" and name not in KIOSK_DEVICES_MAY_IMPORT
    ]
    assert bad == []
