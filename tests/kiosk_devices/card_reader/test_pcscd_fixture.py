"""The card-reader fixture's own pcscd: isolated from any other, and never left running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .card_reader_support import MOUNT_AND_NET, Pcscd, readers_at
from .card_reader_vicc import VPCD_READER
from .conftest import SANDBOXED

pytestmark = [
    pytest.mark.devices,
    pytest.mark.slow,
    pytest.mark.skipif(
        SANDBOXED != MOUNT_AND_NET,
        reason="a second pcscd needs its own namespaces: unshare --mount --net, as root, "
        "outside a chroot",
    ),
]


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return found


def test_a_pcscd_that_never_lists_the_reader_fails_and_is_stopped(tmp_path: Path) -> None:
    no_readers = tmp_path / "reader.conf.d"
    no_readers.mkdir()
    service = Pcscd(
        log_path=tmp_path / "pcscd.log",
        sandboxed=MOUNT_AND_NET,
        socket_dir=tmp_path / "run",
        reader_conf_dir=no_readers,
        ready_timeout=3.0,
    )
    with pytest.raises(pytest.fail.Exception, match="did not list"):
        service.start()
    assert service.process is None
    assert _processes_mentioning(str(no_readers)) == []


def test_a_second_pcscd_gets_its_own_vpcd_reader(pcscd: Pcscd, tmp_path: Path) -> None:
    # The session's pcscd already holds vpcd's port 35963; in a shared network namespace a
    # second vpcd could not listen there and its reader would never be listed.
    second = Pcscd(
        log_path=tmp_path / "pcscd.log", sandboxed=MOUNT_AND_NET, socket_dir=tmp_path / "run"
    )
    try:
        second.start()
        assert VPCD_READER in (readers_at(tmp_path / "run" / "pcscd.comm") or [])
        assert second.process is not None and second.process.pid != os.getpid()
    finally:
        second.stop()
    assert readers_at(tmp_path / "run" / "pcscd.comm") is None
