"""Runs last (file order): after every journey, no card number anywhere the server wrote.

Card numbers are typed only on the sandbox processor's hosted page; Paydesk keeps tokens.
The scan covers both databases (with their -wal/-journal files), the server's log (DEBUG
level), and anything else under the server's folder (mail, settlement reports).
"""

from __future__ import annotations

from pathlib import Path

from e2e.server import Server
from tests.support.pci import card_numbers_in, card_numbers_in_files


def test_no_card_number_in_the_databases_or_the_log(server: Server) -> None:
    files = server.data_files()
    names = {path.name for path in files}
    assert {"paydesk.db", "sandbox-gateway.db", server.log.name} <= names, names
    assert card_numbers_in_files(files) == {}


def test_the_scan_sees_a_card_number_beside_a_digest(tmp_path: Path) -> None:
    """Skipping hash digests must not hide a card number in ordinary text or JSON."""
    line = b'{"pan": "4242424242424242", "hash": "' + b"4ddb3bab" * 8 + b'"}'
    assert card_numbers_in(line) == ["424242\u20264242"]
    log = tmp_path / "server.log"
    log.write_bytes(line)
    assert list(card_numbers_in_files([log])) == [str(log)]
