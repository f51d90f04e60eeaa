"""Jinja2 set-up shared by every front: autoescape on, i18n, money and date filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date, format_datetime
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from shared.i18n import LOCALE_NAMES, LOCALES, current_locale, gettext_, ngettext_
from shared.money import Money
from shared.web.csrf import csrf_token

SHARED_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _money(value: Money) -> str:
    return value.format(current_locale.get())


def _datetime(value: dt.datetime, style: str = "medium") -> str:
    return str(format_datetime(value, style, locale=current_locale.get()))


def _date(value: dt.date, style: str = "medium") -> str:
    return str(format_date(value, style, locale=current_locale.get()))


def _lang_url(request: Request, code: str) -> str:
    """This page in another language, keeping its query (a receipt's signature, say)."""
    url = request.url.include_query_params(lang=code)
    return f"{url.path}?{url.query}"


def make_templates(*directories: Path, globals_: dict[str, Any] | None = None) -> Jinja2Templates:
    """Templates for a front: its own folder first, then the shared one."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*directories, SHARED_TEMPLATES]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(money=_money, datetime=_datetime, date=_date)
    env.globals.update(
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
        current_locale=current_locale.get,
        csrf_token=csrf_token,
        lang_url=_lang_url,
        **(globals_ or {}),
    )
    return Jinja2Templates(env=env)
