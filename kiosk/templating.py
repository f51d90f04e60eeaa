"""The kiosk's Jinja2 environment: autoescape, the shared catalogs, no database.

The kiosk machine has no Paydesk database, so it does not use the fronts' shared
templating (which knows the models); it uses the same translations and money
formatting from the kernel (`shared.i18n`, `shared.money`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from shared.i18n import (
    LOCALE_NAMES,
    LOCALES,
    N_,
    current_locale,
    gettext_,
    ngettext_,
    translations,
)
from shared.money import Money

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _money(minor: int, currency: str) -> str:
    return Money(minor, currency).format(current_locale.get())


# What the screens shown before a language is chosen say, in every language at once.
EVERY_LANGUAGE = {
    "welcome": N_("Welcome"),
    "welcome_lead": N_("Pay your city bills here with a card. Choose your language to begin."),
    "out_of_service": N_("Out of service"),
    "out_of_service_lead": N_(
        "This kiosk cannot take payments right now. No card will be accepted. "
        "Please pay at the counter or online, or come back later."
    ),
}


def in_locale(locale: str, message: str) -> str:
    """`message` translated into `locale` (for the screens shown before a language
    is chosen, which say it in every language)."""
    return translations(locale).gettext(message)


def make_environment(**globals_: Any) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
        money=_money,
        in_locale=in_locale,
        says=EVERY_LANGUAGE,
        **globals_,
    )
    return env
