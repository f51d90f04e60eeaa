"""Jinja2 set-up shared by every front: autoescape on, i18n, money and date filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from starlette.applications import Starlette
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.routing import Router
from starlette.templating import Jinja2Templates

from shared import catalog_names, local_time
from shared.i18n import LOCALE_NAMES, LOCALES, current_locale, gettext_, ngettext_
from shared.models import Department, FeeType, Invoice
from shared.money import Money
from shared.web.csrf import csrf_token

SHARED_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _money(value: Money) -> str:
    return value.format(current_locale.get())


@jinja2.pass_context
def _datetime(context: Mapping[str, Any], value: dt.datetime) -> str:
    """In the organisation's time zone, named (the database keeps UTC)."""
    timezone = context["request"].app.state.settings.timezone
    return local_time.moment(value, timezone, current_locale.get())


def _default_locale(context: Mapping[str, Any]) -> str:
    return str(context["request"].app.state.settings.default_locale)


@jinja2.pass_context
def _named(context: Mapping[str, Any], item: Department | FeeType) -> str:
    """A department's or fee type's name in the page's language (default one if none)."""
    return catalog_names.name_in(item, current_locale.get(), _default_locale(context))


@jinja2.pass_context
def _described(context: Mapping[str, Any], invoice: Invoice) -> str:
    return catalog_names.bill_description(invoice, current_locale.get(), _default_locale(context))


def _date(value: dt.date, style: str = "medium") -> str:
    return str(format_date(value, style, locale=current_locale.get()))


def _lang_url(request: Request, code: str) -> str:
    """This page in another language, keeping its query (a receipt's signature, say)."""
    url = request.url.include_query_params(lang=code)
    return f"{url.path}?{url.query}"


# Per router, the paths already built. Starlette's `url_path_for` tries every route in
# turn (~45 us for a staff route); a page of 50 results asks for ~165 URLs, a third of
# them repeats (navigation, static files, the same customer), and pages are re-rendered.
_URL_PATHS = "_paydesk_url_paths"
_URL_PATHS_KEPT = 4096


def _url_path(request: Request, name: str, params: dict[str, Any]) -> URLPath:
    router: Router | Starlette = request.scope.get("router") or request.scope["app"]
    cache: dict[Hashable, URLPath] | None = getattr(router, _URL_PATHS, None)
    if cache is None:
        cache = {}
        setattr(router, _URL_PATHS, cache)
    # The type too: 1, 1.0 and True are equal keys but may make different paths.
    key = (name, *sorted((k, type(v), v) for k, v in params.items()))
    try:
        return cache[key]
    except TypeError:  # a value that cannot be a key: not cached
        return router.url_path_for(name, **params)
    except KeyError:
        pass
    path = router.url_path_for(name, **params)
    if len(cache) >= _URL_PATHS_KEPT:
        cache.clear()
    cache[key] = path
    return path


@jinja2.pass_context
def _url_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> URL:
    """Starlette's `url_for` for templates, each distinct URL path built once."""
    request: Request = context["request"]
    return _url_path(request, name, path_params).make_absolute_url(base_url=request.base_url)


def make_templates(*directories: Path, globals_: dict[str, Any] | None = None) -> Jinja2Templates:
    """Templates for a front: its own folder first, then the shared one."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*directories, SHARED_TEMPLATES]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        money=_money, datetime=_datetime, date=_date, named=_named, described=_described
    )
    env.globals.update(
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
        current_locale=current_locale.get,
        csrf_token=csrf_token,
        lang_url=_lang_url,
        url_for=_url_for,
        **(globals_ or {}),
    )
    return Jinja2Templates(env=env)
