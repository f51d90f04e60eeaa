"""An administrator edits what the help widget says, in every language; residents see it
at once; every change is audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from shared.models import AuditEvent, HelpTopic
from tests.staff.conftest import Console, post, signed_in


def _topic(console: Console, key: str) -> HelpTopic:
    with console.factory() as db:
        return db.scalars(select(HelpTopic).where(HelpTopic.key == key)).one()


def _form(topic: HelpTopic, **changes: str) -> dict[str, str]:
    fields = {
        f"{part}_{locale}": str(getattr(topic, f"{part}_{locale}"))
        for part in ("title", "body")
        for locale in ("en", "fr", "es")
    }
    return {**fields, "active": "yes" if topic.active else "", **changes}


def test_an_edit_reaches_the_widget_in_that_language_and_is_audited(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    topic = _topic(console, "faq_ways_to_pay")
    listed = admin.get("/staff/admin/help").text
    assert "Which ways of paying do you accept?" in listed
    url = f"/staff/admin/help/{topic.id}"
    saved = post(admin, url, _form(topic, title_fr="Comment payer?", body_fr="Par carte."))
    assert saved.status_code == 303
    resident = console.client()
    french = resident.get("/support/", params={"lang": "fr"}, headers={"HX-Request": "true"})
    assert "Comment payer?" in french.text and "Par carte." in french.text
    english = resident.get("/support/", params={"lang": "en"}, headers={"HX-Request": "true"})
    assert "Which ways of paying do you accept?" in english.text
    with console.factory() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "admin:help_topic:changed")
        ).one()
        assert event.object_id == "faq_ways_to_pay"
        assert event.details == {"changed": ["body_fr", "title_fr"]}


def test_every_language_is_required(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    topic = _topic(console, "faq_refund_time")
    refused = post(admin, f"/staff/admin/help/{topic.id}", _form(topic, body_es=" "))
    assert refused.status_code == 422
    assert "Write it in every language." in refused.text
    assert re.search(r'href="#body_es"', refused.text)
    assert _topic(console, "faq_refund_time").body_es == topic.body_es


def test_a_topic_switched_off_is_not_shown(console: Console) -> None:
    admin, _ = signed_in(console, ["admin"])
    topic = _topic(console, "faq_receipt")
    assert post(admin, f"/staff/admin/help/{topic.id}", _form(topic, active="")).status_code == 303
    panel = console.client().get("/support/", headers={"HX-Request": "true"}).text
    assert "How do I get a copy of my receipt?" not in panel


def test_only_administrators_edit_help(console: Console) -> None:
    agent, _ = signed_in(console, ["agent"])
    topic = _topic(console, "settled")
    assert agent.get("/staff/admin/help").status_code == 403
    assert post(agent, f"/staff/admin/help/{topic.id}", _form(topic)).status_code == 403
    admin, _ = signed_in(console, ["admin"])
    assert admin.get("/staff/admin/help/999999").status_code == 404
