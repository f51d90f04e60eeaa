"""Fixtures for the card-reader tests: a real pcscd with vsmartcard's vpcd driver.

The session starts ``pcscd --foreground`` itself when none is running and stops it at
the end; when one is already running (a developer's desktop, a CI image that starts
it) it is used as is, provided it exposes the vpcd reader.  Tests that restart or stop
pcscd skip on a daemon they did not start.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .card_reader_support import CardSlot, Pcscd, pcsc_readers, pcscd_running
from .card_reader_vicc import VPCD_READER

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VPCD_DRIVER_DIR = Path("/usr/lib/pcsc/drivers/serial")


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcscd]:
    """A pcscd with the vpcd reader, started by us unless one is already running."""
    missing = [
        what
        for what, ok in [
            ("pcscd (Debian package pcscd)", shutil.which("pcscd") is not None),
            ("the vpcd reader config (Debian package vsmartcard-vpcd)", VPCD_CONF.exists()),
            ("the vpcd driver (Debian package vsmartcard-vpcd)",
             any(VPCD_DRIVER_DIR.glob("libifdvpcd.so*"))),
        ]
        if not ok
    ]  # fmt: skip
    if missing:
        pytest.skip(f"card-reader device tests need {', '.join(missing)}")
    service = Pcscd(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    if pcscd_running() or pcsc_readers() is not None:
        if VPCD_READER not in (pcsc_readers() or []):
            pytest.skip(f"a pcscd is already running without the {VPCD_READER!r} reader")
        yield service  # not ours: used as is, never stopped
        return
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def card_slot(pcscd: Pcscd) -> Iterator[CardSlot]:
    """Emulated-card inserter; leaves the reader empty after the test."""
    slot = CardSlot()
    try:
        yield slot
    finally:
        slot.remove_all()


@pytest.fixture
def pcsc_reader(pcscd: Pcscd) -> object:
    """The PC/SC driver restricted to the vpcd reader."""
    from kiosk_devices.card_reader.pcsc import PcscCardReader

    return PcscCardReader(VPCD_READER)
