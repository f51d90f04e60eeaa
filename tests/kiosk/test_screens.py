"""The kiosk's screens: the keypad, a held bill, help, and a visit that leaves nothing."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from sqlalchemy import select

from kiosk.journal import AttemptState
from shared.actors import Actor, ActorType
from shared.gateway.sandbox.cards import Behaviour
from shared.models import Allocation, Invoice, Payment, PaymentStatus, Tender
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests.kiosk.conftest import Kiosk, Kiosks, Server
from tests.shared.sandbox import token
from tests.support.pci import card_numbers_in, card_numbers_in_database, card_numbers_in_files

CITIZEN = Actor(ActorType.CITIZEN, "portal-session")


def test_the_on_screen_keypad_types_into_the_chosen_field_and_enter_finds_the_bill(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([1999], access_code="7042")
    page = kiosk.begin("en")
    values = {"reference": "", "access_code": ""}
    for target, text in (("reference", bill.account.account_number), ("access_code", "7042")):
        for key in text:
            page = kiosk.client.post(
                "/find",
                data={"csrf_token": kiosk.csrf(page), **values, "target": target, "key": key},
            ).text
            values[target] += key
    assert f'value="{bill.account.account_number}"' in page
    assert 'value="7042"' in page
    page = kiosk.client.post(
        "/find",
        data={
            "csrf_token": kiosk.csrf(page),
            **values,
            "target": "access_code",
            "key": "backspace",
        },
    ).text
    assert 'value="704"' in page
    # What a barcode scanner does: the characters, then Enter (the form's first button).
    found = kiosk.client.post(
        "/find",
        data={"csrf_token": kiosk.csrf(page), **values, "action": "find"},
        follow_redirects=True,
    )
    assert bill.invoice_number in found.text
    wrong = kiosk.client.post(
        "/find",
        data={"csrf_token": kiosk.csrf(page), "reference": "NOPE-1", "access_code": "1"},
    )
    assert "We could not find a bill with this number and access code" in wrong.text


def test_a_bill_with_a_payment_being_confirmed_says_so_and_takes_no_second_payment(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([8800])
    assert server.runtime.sandbox is not None
    with server.factory() as db:
        request = PaymentRequest(
            items=(Item(bill.invoice_number, None),),
            tender=Tender.CARD,
            channel="portal",  # type: ignore[arg-type]
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            card_token=token(server.runtime.sandbox, Behaviour.TIMEOUT_APPROVE),
            timezone="America/Toronto",
        )
        outcome = take_payment(db, server.runtime.sandbox, request, CITIZEN)
        assert outcome.payment.status is PaymentStatus.UNKNOWN
    kiosk.begin("en")
    shown = kiosk.find(bill.account.account_number, "4821")
    assert "is being confirmed" in shown.text
    assert 'name="invoice"' not in shown.text  # nothing to tick
    tried = kiosk.pay([bill.invoice_number])
    assert tried.status_code == 422
    assert "Choose at least one bill to pay." in tried.text
    assert kiosk.state() == "in_service"


def test_call_for_help_shows_the_reference_staff_will_see(kiosks: Kiosks, server: Server) -> None:
    kiosk = kiosks.start()
    page = kiosk.begin("en")
    answer = kiosk.client.post("/help", data={"csrf_token": kiosk.csrf(page), "back": "find"})
    assert "Help is on the way" in answer.text
    assert re.search(r"S-\d{4}-\d{6}", answer.text)


def _visit_is_gone(kiosk: Kiosk) -> bool:
    return len(kiosk.service.sessions) == 0 and kiosk.client.get("/bills").status_code == 303


def test_start_over_wipes_the_visit_the_cookie_and_the_screen(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([1500])
    kiosk.begin("fr")
    kiosk.find(bill.account.account_number, "4821")
    bills = kiosk.client.get("/bills")
    assert bill.invoice_number in bills.text
    reset = kiosk.client.post("/reset", data={"csrf_token": kiosk.csrf(bills.text)})
    assert reset.status_code == 303
    assert reset.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert 'paydesk_kiosk=""' in reset.headers["set-cookie"]
    assert _visit_is_gone(kiosk)
    # The next person starts on the welcome screen, in no one's language.
    welcome = kiosk.client.get("/")
    assert bill.invoice_number not in welcome.text
    assert '<html lang="en">' in welcome.text


def test_an_idle_visit_is_wiped_by_the_kiosk_even_if_its_screen_stopped_asking(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start(idle_seconds=0.2, countdown_seconds=0.2, session_grace_seconds=0.2)
    (bill,) = server.bills([1500])
    kiosk.begin("es")
    found = kiosk.find(bill.account.account_number, "4821")
    assert 'data-idle="0"' not in found.text  # the screen counts down by itself too
    kiosk.wait_until(lambda: len(kiosk.service.sessions) == 0)
    assert _visit_is_gone(kiosk)


def test_done_after_a_payment_wipes_the_visit_and_thanks_in_the_residents_language(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([2000])
    kiosk.begin("en")
    kiosk.find(bill.account.account_number, "4821")
    kiosk.pay([bill.invoice_number])
    kiosk.reader.insert("amex")
    kiosk.wait_for_state("printed")
    kiosk.reader.remove()
    receipt = kiosk.client.get("/receipt")
    done = kiosk.client.post(
        "/finish", data={"csrf_token": kiosk.csrf(receipt.text)}, follow_redirects=True
    )
    assert "Thank you" in done.text
    assert _visit_is_gone(kiosk)


def test_screens_carry_the_strict_csp_and_no_inline_script_or_style(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    welcome = kiosk.client.get("/")
    csp = welcome.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    for page in (welcome.text, kiosk.begin("en")):
        assert re.search(r"<script(?![^>]*\ssrc=)", page) is None
        assert " style=" not in page
        assert "<style" not in page


def test_the_stylesheet_and_script_the_screens_name_are_served(kiosks: Kiosks) -> None:
    kiosk = kiosks.start()
    welcome = kiosk.client.get("/").text
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', welcome):
        assert kiosk.client.get(asset).status_code == 200, asset
    assert "kiosk.css" in welcome and "kiosk.js" in welcome


def test_cancel_on_the_card_screen_stops_waiting_and_nothing_is_sent(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([3300])
    kiosk.begin("en")
    kiosk.find(bill.account.account_number, "4821")
    card = kiosk.pay([bill.invoice_number])
    assert kiosk.state() == "waiting_card"
    back = kiosk.client.post(
        "/card/cancel", data={"csrf_token": kiosk.csrf(card.text)}, follow_redirects=True
    )
    assert back.url.path == "/bills"
    assert bill.invoice_number in back.text
    # A card inserted now is not read: nothing waits for it, nothing was journaled.
    kiosk.reader.insert("visa")
    assert kiosk.state() == "in_service"
    assert kiosk.service.journal.open_attempts() == []
    assert kiosk.service.journal.last_transaction() is None


def test_a_card_the_reader_cannot_use_says_why_and_another_card_can_pay(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([3300])
    kiosk.begin("en")
    kiosk.find(bill.account.account_number, "4821")
    kiosk.pay([bill.invoice_number])
    kiosk.reader.insert("blocked")
    kiosk.wait_for_state("card_error")
    kiosk.reader.remove()
    screen = kiosk.client.get("/card")
    assert "This card is blocked" in screen.text
    assert "You were not charged." in screen.text
    retry = kiosk.client.post(
        "/card/retry", data={"csrf_token": kiosk.csrf(screen.text)}, follow_redirects=True
    )
    assert "Insert or tap your card" in retry.text
    kiosk.reader.insert("mastercard")
    kiosk.wait_for_state("printed")
    kiosk.reader.remove()
    # The heartbeat tells staff which payment the kiosk took last, and that none is open.
    kiosk.service.wake()
    transaction = kiosk.service.journal.last_transaction()
    assert transaction is not None
    kiosk.wait_until(
        lambda: server.terminal_health(kiosk.settings.terminal).get("last_payment") == transaction
    )
    health = server.terminal_health(kiosk.settings.terminal)
    assert health["journal_pending"] == 0
    assert health["reader"]["state"] == "ok"
    assert health["printer"]["state"] == "ok"


def test_a_card_number_typed_into_any_kiosk_field_is_kept_nowhere(
    kiosks: Kiosks, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kiosk = kiosks.start()
    (bill,) = server.bills([2600])
    pan = "4242 4242 4242 4242"
    page = kiosk.begin("en")
    for field in ("reference", "access_code"):
        values = {"reference": bill.account.account_number, "access_code": "4821", field: pan}
        page = kiosk.client.post(
            "/find", data={"csrf_token": kiosk.csrf(page), **values, "action": "find"}
        ).text
    kiosk.find(bill.account.account_number, "4821")
    kiosk.pay([bill.invoice_number])
    kiosk.reader.insert("visa")
    kiosk.wait_for_state("printed")
    kiosk.reader.remove()
    receipt = kiosk.client.get("/receipt").text
    kiosk.client.post(
        "/receipt/email",
        data={"csrf_token": kiosk.csrf(receipt), "email": pan, "action": "send"},
    )
    kiosk.client.post(
        "/receipt/email",
        data={"csrf_token": kiosk.csrf(receipt), "email": f"{pan}@example.org", "action": "send"},
    )
    assert card_numbers_in_files(sorted(kiosk.settings.state_dir.rglob("*"))) == {}
    assert card_numbers_in("\n".join(caplog.messages).encode()) == []
    assert card_numbers_in_database(server.runtime.engine) == {}


@pytest.mark.parametrize(
    ("card", "told"),
    [
        ("declined", "Your card was declined. No money was taken. Try another card"),
        ("insufficient_funds", "Your card was declined because there are not enough funds."),
    ],
)
def test_a_card_the_bank_declines_says_so_charges_nothing_and_another_card_can_pay(
    kiosks: Kiosks, server: Server, card: str, told: str
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([4100])
    kiosk.begin("en")
    kiosk.find(bill.account.account_number, "4821")
    kiosk.pay([bill.invoice_number])
    kiosk.reader.insert(card)
    kiosk.wait_for_state("declined")
    kiosk.reader.remove()
    screen = kiosk.client.get("/card")
    assert "Payment declined" in screen.text
    assert told in screen.text
    assert "No money was taken." in screen.text
    assert "Use another card" in screen.text and "Back to my bills" in screen.text
    # Nothing charged: the journal holds the attempt as declined, and so does the server.
    assert kiosk.service.journal.open_attempts() == []
    run = kiosk.service.sessions.get(kiosk.client.cookies.get("paydesk_kiosk")).run
    attempt = kiosk.service.journal.get(run.key)
    assert attempt is not None and attempt.state == AttemptState.DECLINED
    (declined,) = server.payments_by_key(run.key)
    assert declined.status is PaymentStatus.DECLINED
    # Another card pays the same bill, once.
    retry = kiosk.client.post(
        "/card/retry", data={"csrf_token": kiosk.csrf(screen.text)}, follow_redirects=True
    )
    assert "Insert or tap your card" in retry.text
    kiosk.reader.insert("visa")
    kiosk.wait_for_state("printed")
    kiosk.reader.remove()
    assert "Payment approved" in kiosk.client.get("/receipt").text
    with server.factory() as db:
        statuses = db.scalars(
            select(Payment.status)
            .join(Allocation, Allocation.payment_id == Payment.id)
            .where(Allocation.invoice_id == bill.id)
        ).all()
        assert db.get(Invoice, bill.id).amount_paid == 4100  # type: ignore[union-attr]
    assert sorted(statuses) == sorted([PaymentStatus.DECLINED, PaymentStatus.POSTED])


def test_after_a_decline_back_to_my_bills_cancels_and_the_bill_is_still_there(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    (bill,) = server.bills([4200])
    kiosk.begin("fr")
    kiosk.find(bill.account.account_number, "4821")
    kiosk.pay([bill.invoice_number])
    kiosk.reader.insert("declined")
    kiosk.wait_for_state("declined")
    kiosk.reader.remove()
    screen = kiosk.client.get("/card")
    assert "Paiement refusé" in screen.text
    assert "Votre carte a été refusée." in screen.text
    back = kiosk.client.post(
        "/card/cancel", data={"csrf_token": kiosk.csrf(screen.text)}, follow_redirects=True
    )
    assert back.url.path == "/bills"
    assert f'value="{bill.invoice_number}"' in back.text  # still there to tick and pay
    assert kiosk.state() == "in_service"
