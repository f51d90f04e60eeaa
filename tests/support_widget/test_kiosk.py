"""At a kiosk: "call for help" only from a page the kiosk signed with its terminal, a
high-priority request carrying the terminal and where it stands, its reference shown."""

from __future__ import annotations

from starlette.testclient import TestClient

from shared.interactions import support
from shared.models import InteractionChannel, SupportPriority, Terminal
from tests.support_widget.conftest import HX, Widget, form_token, pay


def _kiosk(widget: Widget, code: str) -> None:
    with widget.factory() as db:
        db.add(Terminal(code=code, kind="kiosk", location="City Hall lobby, east doors"))
        db.commit()


def _call(browser: TestClient, ctx: str) -> tuple[int, str]:
    panel = browser.get("/support/", params={"ctx": ctx}, headers=HX)
    data = {"ctx": ctx, "form_token": form_token(panel.text) if "form_token" in panel.text else ""}
    response = browser.post("/support/call", data=data, headers=HX)
    return response.status_code, response.text


def test_a_kiosk_page_offers_call_for_help_and_a_web_page_does_not(
    widget: Widget, browser: TestClient
) -> None:
    paid = pay(widget)
    kiosk = widget.ctx("transaction", paid.transaction_id, channel="kiosk", terminal="K-LOBBY-1")
    web = widget.ctx("transaction", paid.transaction_id)
    assert "Call for help" in browser.get("/support/", params={"ctx": kiosk}, headers=HX).text
    assert "Call for help" not in browser.get("/support/", params={"ctx": web}, headers=HX).text


def test_call_for_help_is_a_high_priority_request_with_the_terminal(
    widget: Widget, browser: TestClient
) -> None:
    _kiosk(widget, "K-LOBBY-2")
    paid = pay(widget)
    ctx = widget.ctx("transaction", paid.transaction_id, channel="kiosk", terminal="K-LOBBY-2")
    status, text = _call(browser, ctx)
    assert status == 200 and "Help is on the way" in text
    reference = text.split('class="pd-reference">')[1].split("<")[0]
    with widget.factory() as db:
        made = support.get(db, reference)
        assert made is not None
        assert made.priority is SupportPriority.HIGH
        assert made.interaction.channel is InteractionChannel.KIOSK
        assert (made.terminal_code, made.terminal_location) == (
            "K-LOBBY-2",
            "City Hall lobby, east doors",
        )
        assert made.interaction.customer_id == paid.customer_id


def test_a_kiosk_with_nothing_on_screen_can_call_too(widget: Widget, browser: TestClient) -> None:
    _kiosk(widget, "K-LOBBY-3")
    status, text = _call(
        browser, widget.ctx("terminal", "K-LOBBY-3", channel="kiosk", terminal="K-LOBBY-3")
    )
    assert status == 200 and "Help is on the way" in text


def test_only_a_signed_kiosk_page_can_call(widget: Widget, browser: TestClient) -> None:
    paid = pay(widget)
    status, text = _call(browser, widget.ctx("transaction", paid.transaction_id))
    assert status == 400 and "This form has expired" in text
    status, _ = _call(browser, "a.forged-token")
    assert status == 400


def test_calls_from_one_kiosk_are_limited(widget: Widget) -> None:
    _kiosk(widget, "K-LOBBY-4")
    ctx = widget.ctx("terminal", "K-LOBBY-4", channel="kiosk", terminal="K-LOBBY-4")
    statuses = [_call(widget.browser(), ctx)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
