"""The kiosk's faults, each as the resident and the staff see it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from kiosk.journal import AttemptState
from kiosk_devices.printer import EscPosPrinter, PrinterProfile
from shared.payments import recovery
from tests.kiosk.conftest import Kiosk, Kiosks, Server
from tests.kiosk_devices.printer.emulator import EscPosEmulator
from tests.kiosk_devices.printer.transports import PtyPrinter

OUT_OF_SERVICE = "This kiosk cannot take payments right now"


def _in_service(kiosk: Kiosk) -> bool:
    return kiosk.client.get("/").status_code == 200


def _out_of_service(kiosk: Kiosk) -> bool:
    page = kiosk.client.get("/")
    return page.status_code == 503 and OUT_OF_SERVICE in page.text


def _bills_found(kiosk: Kiosk, server: Server, amounts: list[int]) -> list[str]:
    bills = server.bills(amounts)
    kiosk.begin("en")
    found = kiosk.find(bills[0].account.account_number, "4821")
    assert found.status_code == 200, found.text
    return [bill.invoice_number for bill in bills[:1]]


def test_server_unreachable_puts_the_kiosk_out_of_service_and_takes_no_card(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    invoices = _bills_found(kiosk, server, [3000])
    bills = kiosk.client.get("/bills")  # the resident is looking at their bills
    kiosk.relay.down()
    kiosk.wait_until(lambda: _out_of_service(kiosk))
    refused = kiosk.client.post(
        "/bills",
        data={"csrf_token": kiosk.csrf(bills.text), "invoice": invoices, "action": "pay"},
    )
    assert refused.status_code == 503
    assert OUT_OF_SERVICE in refused.text
    # No payment started: nothing waits for a card, a card inserted now is never read.
    kiosk.reader.insert("visa")
    assert kiosk.state() == "out_of_service"
    assert kiosk.service.journal.open_attempts() == []
    kiosk.reader.remove()
    kiosk.relay.up()
    kiosk.wait_until(lambda: _in_service(kiosk))
    # The out-of-service screen ended the visit: when the kiosk comes back, whoever
    # stands there does not find the last resident's bills.
    assert len(kiosk.service.sessions) == 0
    assert kiosk.client.get("/bills").status_code == 303


def test_a_missing_card_reader_puts_the_kiosk_out_of_service_and_staff_see_it(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    assert _in_service(kiosk)
    kiosk.reader.set_connected(False)
    kiosk.wait_until(lambda: _out_of_service(kiosk))
    kiosk.service.wake()
    kiosk.wait_until(
        lambda: (
            server.terminal_health(kiosk.settings.terminal).get("reader", {}).get("state")
            == "no_reader"
        )
    )
    assert server.terminal_health(kiosk.settings.terminal)["in_service"] is False
    kiosk.reader.set_connected(True)
    kiosk.wait_until(lambda: _in_service(kiosk))


@pytest.fixture
def paper_printer() -> Iterator[Callable[[], PtyPrinter]]:
    started: list[PtyPrinter] = []

    def start() -> PtyPrinter:
        printer = PtyPrinter(EscPosEmulator(42))
        printer.start()
        started.append(printer)
        return printer

    yield start
    for printer in started:
        printer.stop()


def test_printer_out_of_paper_offers_email_and_a_qr_code_and_alerts_staff(
    kiosks: Kiosks, server: Server, paper_printer: Callable[[], PtyPrinter]
) -> None:
    emulated = paper_printer()
    driver = EscPosPrinter(emulated.path, PrinterProfile(), status_timeout=2.0, print_timeout=5.0)
    kiosk = kiosks.start(printer=driver)
    invoices = _bills_found(kiosk, server, [2500])
    emulated.emulator.run_out_of_paper()
    kiosk.pay(invoices)
    kiosk.reader.insert("mastercard")
    kiosk.wait_for_state("print_failed")
    kiosk.reader.remove()
    receipt = kiosk.client.get("/receipt")
    assert "The receipt printer cannot print right now" in receipt.text
    assert 'src="data:image/svg+xml' in receipt.text  # the QR code to the receipt
    assert "Email my receipt" in receipt.text
    kiosk.wait_until(
        lambda: (
            server.terminal_health(kiosk.settings.terminal).get("printer", {}).get("state")
            == "paper_out"
        )
    )
    # The address typed on the on-screen keyboard, key by key, then sent.
    email = ""
    for key in "ana@example.org":
        page = kiosk.client.post(
            "/receipt/email",
            data={"csrf_token": kiosk.csrf(receipt.text), "email": email, "key": key},
        )
        email = key if not email else email + key
    assert 'value="ana@example.org"' in page.text
    sent = kiosk.client.post(
        "/receipt/email",
        data={"csrf_token": kiosk.csrf(receipt.text), "email": email, "action": "send"},
    )
    assert "Your receipt was sent to ana@example.org" in sent.text


def test_network_lost_while_paying_says_being_confirmed_then_resolves_with_one_charge(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    invoices = _bills_found(kiosk, server, [4200])
    kiosk.relay.lose_next_payment()
    kiosk.pay(invoices)
    kiosk.reader.insert("visa")
    kiosk.wait_for_state("in_doubt")
    kiosk.reader.remove()
    screen = kiosk.client.get("/card")
    assert "Your payment is being confirmed" in screen.text
    assert "You will not be charged twice" in screen.text
    (attempt,) = kiosk.service.journal.open_attempts()
    assert attempt.state == AttemptState.IN_DOUBT
    # The server took the payment; the kiosk did not hear it.
    assert len(server.payments_by_key(attempt.idempotency_key)) == 1
    kiosk.relay.up()
    kiosk.wait_for_state("printed")
    assert "Payment approved" in kiosk.client.get("/receipt").text
    payments = server.payments_by_key(attempt.idempotency_key)
    assert len(payments) == 1
    settled = kiosk.service.journal.get(attempt.idempotency_key)
    assert settled is not None
    assert settled.state == AttemptState.APPROVED
    assert settled.transaction_id == payments[0].transaction_id


def test_a_card_pulled_out_while_it_is_read_says_so_and_charges_nothing(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    invoices = _bills_found(kiosk, server, [1700])
    kiosk.pay(invoices)
    kiosk.reader.insert("removed_mid_read")
    kiosk.wait_for_state("card_error")
    screen = kiosk.client.get("/card")
    assert "The card was removed too early" in screen.text
    assert "You were not charged." in screen.text
    assert kiosk.service.journal.last_transaction() is None
    assert kiosk.service.journal.open_attempts() == []


@pytest.mark.parametrize(
    ("card", "final", "told"),
    [("timeout_approved", "printed", "Payment approved"), ("timeout_declined", "declined", "")],
)
def test_a_bank_that_answers_too_late_shows_being_confirmed_until_the_server_knows(
    kiosks: Kiosks, server: Server, card: str, final: str, told: str
) -> None:
    kiosk = kiosks.start()
    invoices = _bills_found(kiosk, server, [3900])
    kiosk.pay(invoices)
    kiosk.reader.insert(card)
    kiosk.wait_for_state("in_doubt")
    kiosk.reader.remove()
    screen = kiosk.client.get("/card")
    assert "Your payment is being confirmed" in screen.text
    assert "please do not pay again" in screen.text
    (attempt,) = kiosk.service.journal.open_attempts()
    # The server's recovery job asks the processor (this test server runs no worker).
    assert server.runtime.sandbox is not None
    recovery.recover(server.factory, server.runtime.sandbox, dt.timedelta(0))
    kiosk.wait_for_state(final)
    if final == "printed":
        assert told in kiosk.client.get("/receipt").text
    else:
        assert "No money was taken." in kiosk.client.get("/card").text
    (payment,) = server.payments_by_key(attempt.idempotency_key)
    settled = kiosk.service.journal.get(attempt.idempotency_key)
    assert settled is not None
    assert settled.state == (AttemptState.APPROVED if final == "printed" else AttemptState.DECLINED)
    assert settled.transaction_id == payment.transaction_id


def test_approved_with_a_receipt_that_cannot_be_fetched_keeps_the_transaction_number(
    kiosks: Kiosks, server: Server
) -> None:
    kiosk = kiosks.start()
    invoices = _bills_found(kiosk, server, [2200])
    kiosk.relay.cut("GET /api/v1/kiosk/receipts/")
    kiosk.pay(invoices)
    kiosk.reader.insert("visa")
    kiosk.wait_for_state("no_receipt")
    kiosk.reader.remove()
    screen = kiosk.client.get("/receipt").text
    assert "Payment approved" in screen
    assert "Your receipt cannot be printed right now. Keep the transaction number" in screen
    transaction = kiosk.service.journal.last_transaction()
    assert transaction is not None and transaction in screen
