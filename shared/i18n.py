"""Translations: gettext catalogs under locales/<lang>/LC_MESSAGES/messages.po.

The .po files are read directly (no compile step to forget); English is the
source language, so a missing catalog or message falls back to the msgid.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALES = ("en", "fr", "es")
DEFAULT_LOCALE = "en"
LOCALE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


class PoTranslations(gettext.NullTranslations):
    def __init__(self, messages: dict[str, str | tuple[str, ...]], plural_expr: str) -> None:
        super().__init__()
        self._messages = messages
        self._plural = gettext.c2py(plural_expr)

    def gettext(self, message: str) -> str:
        found = self._messages.get(message)
        return found if isinstance(found, str) and found else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        found = self._messages.get(msgid1)
        if isinstance(found, tuple):
            index = self._plural(n)
            if index < len(found) and found[index]:
                return found[index]
        return msgid1 if n == 1 else msgid2


@cache
def translations(locale: str) -> gettext.NullTranslations:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    messages: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, (tuple, list)):
            plurals = message.string if isinstance(message.string, (tuple, list)) else ()
            messages[str(message.id[0])] = tuple(str(s) for s in plurals)
        else:
            messages[str(message.id)] = str(message.string or "")
    return PoTranslations(messages, catalog.plural_expr)


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick our best locale from an Accept-Language header."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        lang, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        choices.append((-quality, index, lang.strip().lower().split("-")[0]))
    for _, _, lang in sorted(choices):
        if lang in LOCALES:
            return lang
    return default


current_locale: ContextVar[str] = ContextVar("paydesk_locale", default=DEFAULT_LOCALE)
LOCALE_COOKIE = "paydesk_locale"


def N_(message: str) -> str:  # the name Babel's extractor looks for
    """Marks a message for the catalog; it is translated where it is shown."""
    return message


def gettext_(message: str) -> str:
    """Translate into the current request's language."""
    return translations(current_locale.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


class LocaleMiddleware:
    """Choose the language: `?lang=` (remembered in a cookie), the cookie, Accept-Language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        chosen = request.query_params.get("lang")
        remember = chosen in LOCALES
        if chosen not in LOCALES:
            chosen = request.cookies.get(LOCALE_COOKIE)
        if chosen not in LOCALES:
            chosen = negotiate(request.headers.get("accept-language"))
        assert chosen is not None
        scope.setdefault("state", {})["locale"] = chosen
        token = current_locale.set(chosen)

        async def send_with_cookie(message: Message) -> None:
            if remember and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append(
                    "set-cookie",
                    f"{LOCALE_COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax",
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            current_locale.reset(token)
