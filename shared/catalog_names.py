"""Catalog names in the reader's language: departments, fee types, and the bill
descriptions made from them ("Sewer charge — December 2026").

A name is stored in the default language (`name`) and, for other languages, in the
translations an administrator writes (/staff/admin/catalog). A language without one
falls back to the default name: never an empty label.
"""

from __future__ import annotations

from babel.dates import format_skeleton

from shared.models import Department, DepartmentName, FeeType, FeeTypeName, Invoice
from shared.money import babel_locale


def name_in(item: Department | FeeType, locale: str, default_locale: str) -> str:
    """`item`'s name in `locale`, else in the default language (PAYDESK_DEFAULT_LOCALE,
    the language `name` is in: asked for, it costs no query)."""
    if locale == default_locale:
        return item.name
    for translation in item.translations:
        if translation.locale == locale and translation.name.strip():
            return translation.name
    return item.name


def bill_description(invoice: Invoice, locale: str, default_locale: str) -> str:
    """What the bill is for: "<fee type> — <month>" in `locale` for a bill with a
    period; else the description its source system gave, as given."""
    if invoice.period is None:
        return invoice.description
    month = format_skeleton("yMMMM", invoice.period, locale=babel_locale(locale))
    return f"{name_in(invoice.fee_type, locale, default_locale)} — {month}"


def set_translations(item: Department | FeeType, names: dict[str, str]) -> bool:
    """Write `item`'s name in each language of `names` (a blank one removes it: the
    default name shows instead). True when anything changed."""
    existing = {t.locale: t for t in item.translations}
    changed = False
    for locale, typed in names.items():
        name = typed.strip()
        found = existing.get(locale)
        if found is not None and not name:
            item.translations.remove(found)  # type: ignore[arg-type]
        elif found is not None and found.name != name:
            found.name = name
        elif found is None and name:
            made = DepartmentName if isinstance(item, Department) else FeeTypeName
            item.translations.append(made(locale=locale, name=name))  # type: ignore[arg-type]
        else:
            continue
        changed = True
    return changed
