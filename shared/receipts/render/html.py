"""A receipt as an HTML fragment for pages and emails, and QR codes as inline SVG.

Output has no inline styles or scripts, so it works under the strict CSP.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from shared.i18n import translations
from shared.money import Money
from shared.receipts.document import ReceiptDocument
from shared.receipts.render.wording import (
    after_total_rows,
    issued_date,
    issued_time,
    status_text,
    tender_rows,
)

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


@cache
def environment(locale: str) -> Environment:
    """One environment per locale, translations installed once.

    Installing translations changes the environment's globals, so sharing one
    environment across locales would let concurrent renders see each other's
    language.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(template: str, locale: str, **context: Any) -> Markup:
    # Autoescaped template output: safe to embed as is.
    return Markup(environment(locale).get_template(template).render(**context))  # noqa: S704


def receipt_html(doc: ReceiptDocument) -> Markup:
    def money(amount: Money) -> str:
        return amount.format(doc.locale)

    return render(
        "receipts/receipt.html",
        doc.locale,
        doc=doc,
        money=money,
        issued_date=issued_date(doc),
        issued_time=issued_time(doc),
        tender_rows=tender_rows(doc),
        after_total=after_total_rows(doc),
        status=status_text(doc),
    )


def qr_svg(data: str, title: str | None = None, scale: int = 4) -> Markup:
    """`data` as an inline `<svg>` QR code; its `<title>` (by default `data`) names it."""
    svg = segno.make(data, error="m").svg_inline(title=title or data, scale=scale)
    return Markup(svg)  # noqa: S704 - segno escapes the title; the rest is its own markup
