"""axe-core in the page: `assert_accessible(page)` fails with every WCAG 2.2 A/AA violation.

axe-core comes from npm (`e2e/package.json`, pinned; `scripts/bootstrap.sh test` installs
it). Our pages' CSP forbids inline scripts, and `page.add_script_tag` inlines the file,
so the script is run with `page.evaluate` instead: DevTools evaluation is not subject to
the page's CSP, and the page's own policy stays exactly as served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """async (tags) => {
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


@cache
def _axe_source() -> str:
    if not AXE_JS.exists():
        raise FileNotFoundError(
            f"{AXE_JS} is missing: run `npm ci --prefix e2e` (scripts/bootstrap.sh test does)"
        )
    return AXE_JS.read_text()


def violations(page: Page, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """The axe violations on the page as it is now (injecting axe once per document)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Wrapped in a function so the file's last expression value does not matter.
        page.evaluate(f"() => {{ {_axe_source()}\n}}")
    found: list[dict[str, Any]] = page.evaluate(_RUN, tags or WCAG_22_AA)
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}")
            for detail in str(node["summary"] or "").splitlines():
                lines.append(f"       {detail}")
    return "\n".join(lines)


def assert_accessible(page: Page, tags: list[str] | None = None) -> None:
    """Fail with a readable list (rule, impact, help, selectors) unless axe finds nothing."""
    found = violations(page, tags)
    assert not found, f"axe found {len(found)} violation(s) on {page.url}:\n{describe(found)}"
