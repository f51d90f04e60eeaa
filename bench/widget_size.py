"""The help widget's weight against its budget: at most 8 KB minified and gzipped.

    .venv/bin/python bench/widget_size.py

Measures `support_widget/static/widget.js` (and its stylesheet, loaded by the widget
into its shadow root) three ways: as served (the file itself, unminified; the server
gzips it), gzipped as served, and minified then gzipped. The minifier here is
deliberately simple and safe for this file: it drops comments that take whole lines or
close a line, and the indentation. No toolchain is needed, and the figure can only be
an overestimate of what a real minifier would give. Prints a table; record it in
RESULTS.md.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "support_widget" / "static"
BUDGET = 8 * 1024
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.M)


def minified(source: str) -> str:
    source = _BLOCK_COMMENT.sub("", source)
    source = _LINE_COMMENT.sub("", source)
    return "\n".join(line.strip() for line in source.splitlines() if line.strip())


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def main() -> None:
    print("| file | bytes as served | gzipped as served | minified + gzipped | budget |")
    print("|------|-----------------|-------------------|--------------------|--------|")
    for name in ("widget.js", "widget.css"):
        source = (STATIC / name).read_text()
        served = source.encode()
        small = minified(source).encode()
        budget = f"{BUDGET:,}" if name.endswith(".js") else "–"
        print(f"| {name} | {len(served):,} | {gzipped(served):,} | {gzipped(small):,} | {budget} |")


if __name__ == "__main__":
    main()
