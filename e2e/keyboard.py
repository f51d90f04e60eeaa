"""Drive a page with the keyboard alone, and check that focus can be seen.

    field = page.get_by_label("Card number")
    tab_to(page, field)            # Tab (at most MAX_TABS times) until it has focus
    page.keyboard.type("4242 …")   # type into whatever has focus
    activate(page, page.get_by_role("button", name="Pay $42.00"))   # Tab to it, Enter

Nothing here clicks or calls `fill`/`focus`: a journey that only uses these helpers and
`page.keyboard` is one a keyboard user can make.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page

# More than any of our pages has stops before its main action; a bound, not a target.
MAX_TABS = 60

_FOCUS_STYLE = """(el) => {
  if (el !== document.activeElement) return { focused: false };
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    focused: true,
    focusVisible: el.matches(":focus-visible"),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    boxShadow: style.boxShadow,
    inViewport: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
      && box.left < window.innerWidth && box.top < window.innerHeight,
  };
}"""


def has_focus(target: Locator) -> bool:
    return bool(target.evaluate("(el) => el === document.activeElement"))


def focused_description(page: Page) -> str:
    """What has focus, for failure messages: tag, id, text or value."""
    return str(
        page.evaluate(
            """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "<body>";
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
  return `<${el.tagName.toLowerCase()}${el.id ? " id=" + el.id : ""}> ${text.slice(0, 60)}`;
}"""
        )
    )


def tab_to(page: Page, target: Locator, *, backwards: bool = False, limit: int = MAX_TABS) -> None:
    """Press Tab (Shift+Tab if `backwards`) until `target` has focus; fail after `limit`."""
    key = "Shift+Tab" if backwards else "Tab"
    seen = []
    for _ in range(limit):
        if has_focus(target):
            return
        page.keyboard.press(key)
        seen.append(focused_description(page))
    if has_focus(target):
        return
    path = "\n  ".join(seen)
    raise AssertionError(f"{target} never got focus after {limit} x {key}; focus went:\n  {path}")


def activate(page: Page, target: Locator, *, key: str = "Enter") -> None:
    """Tab to `target` and press Enter (or `key`, e.g. "Space" for a checkbox)."""
    tab_to(page, target)
    page.keyboard.press(key)


def type_into(page: Page, field: Locator, text: str) -> None:
    """Tab to a field and type, as a person would (no `fill`)."""
    tab_to(page, field)
    page.keyboard.type(text)


def assert_focus_visible(target: Locator) -> None:
    """`target` has focus, is on screen, and shows a focus indicator (an outline of at least
    2 px or a box shadow; WCAG 2.4.7)."""
    state = target.evaluate(_FOCUS_STYLE)
    assert state["focused"], f"{target} does not have focus"
    assert state["inViewport"], f"{target} has focus but is off screen: {state}"
    outline = state["outlineStyle"] != "none" and state["outlineWidth"] >= 2
    shadow = state["boxShadow"] not in ("", "none")
    assert outline or shadow, f"{target} has focus but no visible focus indicator: {state}"
