"""Support code for the card-reader tests: the pcscd handle, the card slot, threads."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .card_reader_emv_cards import PROFILES, EmvCardEmulator
from .card_reader_vicc import VPCD_READER, VirtualCard

READY_TIMEOUT = 15.0


def pcsc_readers() -> list[str] | None:
    """Reader list from a fresh context, ``None`` when pcscd is unreachable."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        return list(readers) if hresult == scard.SCARD_S_SUCCESS else None
    finally:
        scard.SCardReleaseContext(context)


def pcscd_running() -> bool:
    """Whether any pcscd process exists (ours or not)."""
    result = subprocess.run(["pidof", "pcscd"], capture_output=True, check=False)
    return result.returncode == 0


@dataclass
class Pcscd:
    """Handle on the pcscd the tests talk to."""

    log_path: Path
    owned: bool = False
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start our own pcscd and wait until the vpcd reader is listed."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["pcscd", "--foreground", "--info"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.owned = True
        self.wait_ready()

    def wait_ready(self) -> None:
        """Bounded wait for the vpcd reader to appear."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            readers = pcsc_readers()
            if readers and VPCD_READER in readers:
                return
            time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-2000:]
        pytest.fail(f"pcscd did not expose {VPCD_READER!r}; log tail:\n{tail}")

    def stop(self) -> None:
        """Stop the pcscd we started (never one we found running)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Stop and start again; only for a pcscd this session owns."""
        if not self.owned:
            pytest.skip("pcscd was already running and is not ours to restart")
        self.stop()
        self.start()


@dataclass
class CardSlot:
    """Inserts emulated cards into the vpcd reader and removes them afterwards."""

    cards: list[VirtualCard] = field(default_factory=list)

    def insert(self, profile_name: str) -> tuple[VirtualCard, EmvCardEmulator]:
        """Insert a card behaving as ``PROFILES[profile_name]``."""
        emulator = EmvCardEmulator(PROFILES[profile_name])
        card = VirtualCard(emulator.profile.atr, emulator)
        card.insert()
        self.cards.append(card)
        return card, emulator

    def remove_all(self) -> None:
        """Pull every card out and wait (bounded) until pcscd sees the slot empty."""
        from kiosk_devices.card_reader.pcsc import PcscCardReader

        for card in self.cards:
            card.remove()
        self.cards.clear()
        with contextlib.suppress(Exception):
            PcscCardReader(VPCD_READER).wait_for_removal(timeout=10)


def run_in_thread(target: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    """Run ``target`` in a daemon thread; its result or exception lands in the dict."""
    outcome: dict[str, object] = {}

    def runner() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    return thread, outcome
