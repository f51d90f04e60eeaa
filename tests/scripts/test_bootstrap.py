"""scripts/bootstrap.sh refuses tools that are present but too old, before installing anything.

A stand-in `node` or `python3` first on PATH plays the old tool; the script must stop with a
line naming the version it found and the one it needs (not fail later, mid-run).
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fake_tool(folder: Path, name: str, prints: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{prints}'\n")
    tool.chmod(0o755)


def _bootstrap(
    path_first: Path, *args: str, python: str = "python3"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{path_first}:{os.environ['PATH']}", "PYTHON": python}
    return subprocess.run(
        [str(ROOT / "scripts/bootstrap.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_old_node_already_there_is_refused_with_the_versions(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "node", "v16.20.2")
    done = _bootstrap(tmp_path, "test")
    assert done.returncode == 1
    assert "Node.js 16.20.2" in done.stderr
    assert "18.12 or newer" in done.stderr


def test_an_old_python_is_refused_with_the_versions(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\necho 3.9\n")
    old.chmod(0o755)
    done = _bootstrap(tmp_path, "demo", python=str(old))
    assert done.returncode == 1
    assert "Python 3.9" in done.stderr
    assert "3.11 or newer" in done.stderr
