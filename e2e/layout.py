"""Phone-first checks: nothing wider than the screen, touch targets big enough to hit."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

# The portal issue's bar (WCAG 2.5.5 AAA size; 2.5.8 AA asks only 24 px).
MIN_TARGET_PX = 44
# Buttons, links and form controls people tap, in the page's main content and its
# language switcher. Inline links inside running text are exempt, as WCAG 2.5.5 allows.
TARGETS = "main a[href], main button, main input:not([type=hidden]), main select, nav a[href]"

_SMALL = """([selector, minimum]) => {
  const inline = (el) => el.tagName === "A" && el.closest("p, li, td, dd") !== null
    && el.closest("nav") === null
    && el.parentElement.textContent.trim() !== el.textContent.trim();
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length > 0 && !inline(el))
    .map((el) => {
      const box = el.getBoundingClientRect();
      const name = (el.innerText || el.value || el.id || el.getAttribute("name") || "").trim();
      return { name: `<${el.tagName.toLowerCase()}> ${name.slice(0, 40)}`,
               width: Math.round(box.width), height: Math.round(box.height) };
    })
    .filter((t) => t.width < minimum || t.height < minimum);
}"""


def assert_no_horizontal_scroll(page: Page) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, (
        f"{page.url} scrolls sideways at {width} px: the page is {scroll_width} px wide"
    )


def small_targets(page: Page, selector: str = TARGETS) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(_SMALL, [selector, MIN_TARGET_PX])
    return found


def assert_touch_targets(page: Page, selector: str = TARGETS) -> None:
    small = small_targets(page, selector)
    assert not small, f"touch targets under {MIN_TARGET_PX} px on {page.url}: {small}"
