"""The kiosk's journal: an attempt is on disk before it is sent, and survives the process."""

from __future__ import annotations

from pathlib import Path

from kiosk.journal import AttemptState, Journal, new_key


def test_an_attempt_written_before_sending_is_found_open_by_the_next_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal(path)
    key = new_key("KIOSK-01")
    first.begin(key, amount_minor=5750, currency="CAD", invoices=["B-1", "B-2"])
    # No close: as if the process died here.
    after_restart = Journal(path)
    (attempt,) = after_restart.open_attempts()
    assert (attempt.idempotency_key, attempt.state) == (key, AttemptState.SENDING)
    assert attempt.invoices == ("B-1", "B-2")
    assert attempt.amount_minor == 5750
    after_restart.settle(
        key, AttemptState.APPROVED, transaction_id="TX-1", receipt_number="R-2026-000001"
    )
    assert after_restart.open_attempts() == []
    assert after_restart.last_transaction() == "TX-1"
    first.close()
    after_restart.close()


def test_keys_name_the_terminal_and_are_never_reused() -> None:
    keys = {new_key("KIOSK-01") for _ in range(1000)}
    assert len(keys) == 1000
    assert all(key.startswith("kiosk-KIOSK-01-") and len(key) <= 100 for key in keys)
