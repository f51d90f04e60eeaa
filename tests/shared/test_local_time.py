"""One time zone (PAYDESK_TIMEZONE) for every time shown, named in the reader's language."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shared import local_time
from shared.receipts.render.email import receipt_email
from shared.receipts.render.html import receipt_html
from tests.shared.receipts.test_render import receipt

WINTER = dt.datetime(2026, 12, 7, 22, 40, 9, tzinfo=dt.UTC)  # 5:40 p.m. in Toronto
SUMMER = dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC)  # noon in Toronto
NAMES = {
    "en": ("Eastern Standard Time", "Eastern Daylight Time"),
    "fr": ("heure normale de l’Est", "heure avancée de l’Est"),
    "es": ("hora estándar oriental", "hora de verano oriental"),
}


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_times_are_local_and_named_in_each_language(locale: str) -> None:
    winter, summer = NAMES[locale]
    assert local_time.moment(WINTER, "America/Toronto", locale).endswith(f"({winter})")
    assert local_time.moment(SUMMER, "America/Toronto", locale).endswith(f"({summer})")
    assert local_time.day(dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC), "America/Toronto", "en") == (
        "December 7, 2026"
    )


@pytest.mark.parametrize(
    ("locale", "shown"),
    [
        ("en", "5:40\u202fp.m. (Eastern Standard Time)"),
        ("fr", "17 h 40 (heure normale de l’Est)"),
        ("es", "17:40 (hora estándar oriental)"),
    ],
)
def test_a_time_reads_as_the_wall_clock(locale: str, shown: str) -> None:
    assert local_time.time_of_day(WINTER, "America/Toronto", locale) == shown


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_receipts_and_their_email_name_the_zone_and_no_offset(locale: str) -> None:
    doc = dataclasses.replace(
        receipt(locale),
        issued_at=WINTER.astimezone(ZoneInfo("America/Toronto")),
        timezone="America/Toronto",
    )
    page = receipt_html(doc)
    mail = receipt_email(doc, mail_from="p@riverton.example", to="a@example.com")
    text = mail.get_body(("plain",))
    assert text is not None
    for shown in (str(page), text.get_content()):
        assert NAMES[locale][0] in shown
        assert "-0500" not in shown and " EST" not in shown and "HNE" not in shown
