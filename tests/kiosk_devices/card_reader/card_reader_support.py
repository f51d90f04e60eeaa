"""Support code for the card-reader tests: the pcscd handle, the card slot, threads.

A pcscd is usable when it *lists the vpcd reader* to us, nothing else: a pcscd process
seen by ``pidof`` may live in another namespace and answer nobody here. Where this user
may make namespaces (root), the tests start their own pcscd in its own network namespace
(``pcscd_sandbox.py``), so vpcd's port 35963 is this session's alone and two test runs on
one machine never share a reader; and in its own mount namespace too where one can be
made, so its socket is this session's as well (not inside a chroot, where the chroot's
own /run holds it). Elsewhere a pcscd already answering on the socket with the vpcd
reader is used as is, and otherwise one is started in the machine's namespaces.
Whatever the tests start, they stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .card_reader_emv_cards import PROFILES, EmvCardEmulator
from .card_reader_vicc import VPCD_HOST, VPCD_PORT, VPCD_READER, VirtualCard

READY_TIMEOUT = 15.0
SANDBOX = Path(__file__).with_name("pcscd_sandbox.py")
CLONE_NEWNET = 0x40000000
# Where this pytest process's own pcscd puts its socket. libpcsclite reads
# PCSCLITE_CSOCK_NAME once, at its first call, so conftest sets it at import time.
SANDBOX_SOCKET_DIR = Path(f"/tmp/paydesk-pcscd-{os.getpid()}")


MOUNT_AND_NET = ("--mount", "--net")
NET_ONLY = ("--net",)


def namespaces_available() -> tuple[str, ...]:
    """The namespaces this user can give pcscd: mount and network, else (in a chroot,
    where / is no mount point) network only, else none."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return ()
    for flags in (MOUNT_AND_NET, NET_ONLY):
        done = subprocess.run(["unshare", *flags, "true"], capture_output=True, check=False)
        if done.returncode == 0:
            return flags
    return ()


def readers_at(socket_path: Path | None) -> list[str] | None:
    """The readers the pcscd at ``socket_path`` lists (None: the machine's, /run/pcscd).

    ``None`` when no pcscd answers there. Asked from a child process, since this
    process's libpcsclite keeps the first socket it used.
    """
    script = (
        "from smartcard import scard\n"
        "r, c = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)\n"
        "if r != scard.SCARD_S_SUCCESS: raise SystemExit(3)\n"
        "r, names = scard.SCardListReaders(c, [])\n"
        "print('\\n'.join(names if r == scard.SCARD_S_SUCCESS else []))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"}
    if socket_path is not None:
        env["PCSCLITE_CSOCK_NAME"] = str(socket_path)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    return None if done.returncode else [line for line in done.stdout.splitlines() if line]


def _socket_in_netns(pid: int) -> socket.socket:
    """A TCP socket that belongs to process ``pid``'s network namespace.

    setns() moves only the calling thread, so a throw-away thread enters the namespace,
    makes the socket and ends; the socket stays in that namespace wherever it is used.
    """
    made: dict[str, object] = {}

    def enter_and_make() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/proc/{pid}/ns/net", "rb") as netns:
                if libc.setns(netns.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            made["socket"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except BaseException as exc:
            made["error"] = exc

    thread = threading.Thread(target=enter_and_make, name="netns")
    thread.start()
    thread.join()
    if "error" in made:
        raise made["error"]  # type: ignore[misc]
    return made["socket"]  # type: ignore[return-value]


@functools.cache
def _asks_polkit() -> bool:
    """Whether this pcscd checks clients with polkit (and so has --disable-polkit)."""
    done = subprocess.run(["pcscd", "--help"], capture_output=True, text=True, check=False)
    return "--disable-polkit" in done.stdout + done.stderr


@dataclass
class Pcscd:
    """Handle on the pcscd the tests talk to."""

    log_path: Path
    # The namespaces of its own (MOUNT_AND_NET, NET_ONLY), or none.
    sandboxed: tuple[str, ...] = ()
    socket_dir: Path = SANDBOX_SOCKET_DIR
    reader_conf_dir: Path = Path("/etc/reader.conf.d")
    ready_timeout: float = READY_TIMEOUT
    owned: bool = False
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start our own pcscd and wait until it lists the vpcd reader; stopped if it never does."""
        command = ["pcscd", "--foreground", "--info", "--config", str(self.reader_conf_dir)]
        if _asks_polkit():
            # pcsc-lite 2 (Debian 13) asks polkit who may connect, and with no polkit
            # daemon (a container, a fresh root) refuses everyone. This daemon is the
            # tests' own: its clients are the tests.
            command.append("--disable-polkit")
        if self.sandboxed:
            own_socket = self.sandboxed == MOUNT_AND_NET
            if own_socket:
                self.socket_dir.mkdir(mode=0o755, exist_ok=True)
            command = [
                "unshare", *self.sandboxed, "--",
                sys.executable, str(SANDBOX), str(self.socket_dir) if own_socket else "-",
                *command[1:],
            ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.owned = True
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        """Bounded wait for the vpcd reader to be listed by the pcscd we talk to."""
        own_socket = self.sandboxed == MOUNT_AND_NET
        socket_path = self.socket_dir / "pcscd.comm" if own_socket else None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            readers = readers_at(socket_path)
            if readers and VPCD_READER in readers:
                return
            time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-2000:]
        pytest.fail(f"pcscd did not list {VPCD_READER!r}; log tail:\n{tail}")

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

    def connect_card(self) -> socket.socket:
        """A connection to this pcscd's vpcd: what inserting a card is."""
        if self.sandboxed and self.process is not None:
            sock = _socket_in_netns(self.process.pid)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(1.0)
        try:
            sock.connect((VPCD_HOST, VPCD_PORT))
        except BaseException:
            sock.close()
            raise
        return sock


@dataclass
class CardSlot:
    """Inserts emulated cards into the vpcd reader and removes them afterwards."""

    pcscd: Pcscd
    cards: list[VirtualCard] = field(default_factory=list)
    emulators: list[EmvCardEmulator] = field(default_factory=list)

    def insert(self, profile_name: str) -> tuple[VirtualCard, EmvCardEmulator]:
        """Insert a card behaving as ``PROFILES[profile_name]``."""
        emulator = EmvCardEmulator(PROFILES[profile_name])
        card = VirtualCard(emulator.profile.atr, emulator, connect=self.pcscd.connect_card)
        card.insert()
        self.cards.append(card)
        self.emulators.append(emulator)
        return card, emulator

    def remove_all(self) -> None:
        """Pull every card out and wait (bounded) until pcscd sees the slot empty."""
        from kiosk_devices.card_reader.pcsc import PcscCardReader

        for emulator in self.emulators:
            emulator.release.set()  # a card stuck mid-command lets go, as if pulled
        for card in self.cards:
            card.remove()
        self.cards.clear()
        self.emulators.clear()
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
