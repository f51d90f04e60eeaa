"""Fixtures for the card-reader tests: a real pcscd with vsmartcard's vpcd driver.

Where namespaces can be made (root), the session starts its own pcscd in its own network
namespace (and mount namespace, outside a chroot) and stops it at the end: nothing else
on the machine shares its reader. Elsewhere, and in a chroot whose pcscd socket already
answers, a pcscd that lists the vpcd reader to us is used as is, one that answers
without it makes the tests skip (saying so), and when none answers the session starts
one. See ``card_reader_support`` for why listing readers is the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .card_reader_support import (
    MOUNT_AND_NET,
    SANDBOX_SOCKET_DIR,
    CardSlot,
    Pcscd,
    namespaces_available,
    readers_at,
)
from .card_reader_vicc import VPCD_READER

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VPCD_DRIVER_DIR = Path("/usr/lib/pcsc/drivers/serial")

SANDBOXED = namespaces_available()
if SANDBOXED == MOUNT_AND_NET:
    # Before anything in this process loads libpcsclite: it reads this once.
    os.environ["PCSCLITE_CSOCK_NAME"] = str(SANDBOX_SOCKET_DIR / "pcscd.comm")


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcscd]:
    """A pcscd that lists the vpcd reader to us; ours (and stopped) unless found usable."""
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
    service = Pcscd(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log", sandboxed=SANDBOXED)
    if SANDBOXED != MOUNT_AND_NET:  # the socket is /run/pcscd's, maybe not ours
        readers = readers_at(None)
        if readers is not None and VPCD_READER in readers:
            yield service  # the machine's own, answering with the reader: used as is, never stopped
            return
        if readers is not None:
            pytest.skip(f"the machine's pcscd answers without the {VPCD_READER!r} reader")
    try:
        service.start()
        yield service
    finally:
        service.stop()
        if SANDBOXED == MOUNT_AND_NET:
            shutil.rmtree(SANDBOX_SOCKET_DIR, ignore_errors=True)


@pytest.fixture
def card_slot(pcscd: Pcscd) -> Iterator[CardSlot]:
    """Emulated-card inserter; leaves the reader empty after the test."""
    slot = CardSlot(pcscd)
    try:
        yield slot
    finally:
        slot.remove_all()


@pytest.fixture
def pcsc_reader(pcscd: Pcscd) -> object:
    """The PC/SC driver restricted to the vpcd reader."""
    from kiosk_devices.card_reader.pcsc import PcscCardReader

    return PcscCardReader(VPCD_READER)
