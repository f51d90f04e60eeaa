"""Times as people read them: in the organisation's time zone (PAYDESK_TIMEZONE), with
that zone's name, in the reader's language. The database keeps UTC; only what is shown
(pages, receipts, emails, CSV) is local. One place, so no page shows bare UTC while a
receipt shows "EST" and another "-0500".
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format, get_timezone_name

from shared.money import babel_locale


def in_zone(value: dt.datetime, timezone: str) -> dt.datetime:
    """`value` (aware, any zone) as the clock on the wall reads it in `timezone`."""
    return value.astimezone(ZoneInfo(timezone))


def zone_name(local: dt.datetime, locale: str) -> str:
    """The zone's name at that moment: "Eastern Standard Time", "heure normale de l’Est"."""
    return str(get_timezone_name(local, "long", locale=babel_locale(locale)))


def time_of_day(value: dt.datetime, timezone: str, locale: str, *, seconds: bool = False) -> str:
    """e.g. `5:40 p.m. (Eastern Standard Time)`, `17 h 40 (heure normale de l’Est)`."""
    local = in_zone(value, timezone)
    clock = format_time(local, "medium" if seconds else "short", locale=babel_locale(locale))
    return f"{clock} ({zone_name(local, locale)})"


def moment(value: dt.datetime, timezone: str, locale: str, *, seconds: bool = False) -> str:
    """e.g. `Dec 7, 2026, 5:40 p.m. (Eastern Standard Time)`, for tables and lists."""
    return _moment(value, timezone, locale, "medium", seconds)


def long_moment(value: dt.datetime, timezone: str, locale: str) -> str:
    """e.g. `December 7, 2026, 5:40 p.m. (Eastern Standard Time)`, for sentences."""
    return _moment(value, timezone, locale, "long", False)


def _moment(
    value: dt.datetime,
    timezone: str,
    locale: str,
    date_style: Literal["long", "medium"],
    seconds: bool,
) -> str:
    local = in_zone(value, timezone)
    lang = babel_locale(locale)
    day = format_date(local, date_style, locale=lang)
    clock = format_time(local, "medium" if seconds else "short", locale=lang)
    together = str(get_datetime_format(date_style, locale=lang)).replace("{1}", day)
    return f"{together.replace('{0}', clock)} ({zone_name(local, locale)})"


def day(
    value: dt.datetime, timezone: str, locale: str, style: Literal["long", "medium"] = "long"
) -> str:
    """The date it was in `timezone` (near midnight UTC, not the UTC date)."""
    return str(format_date(in_zone(value, timezone), style, locale=babel_locale(locale)))
