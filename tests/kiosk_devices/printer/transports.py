"""Connect an `EscPosEmulator` to a driver the way real printers are connected:
a serial line (a pseudo-terminal) or a network printer's raw TCP port."""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from types import TracebackType
from typing import Self

from .emulator import EscPosEmulator


class _Transport:
    """A background thread moving bytes between a connection and the emulator."""

    def __init__(self, emulator: EscPosEmulator) -> None:
        self.emulator = emulator
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close()

    def _run(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class PtyPrinter(_Transport):
    """The emulator behind a pseudo-terminal; drivers open `self.path` with pyserial."""

    def __init__(self, emulator: EscPosEmulator) -> None:
        super().__init__(emulator)
        self._master, self._slave = os.openpty()
        # Raw mode so the line discipline neither echoes nor rewrites bytes.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)

    def _run(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], 0.05)
            if not readable:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                continue
            reply = self.emulator.receive(data)
            if reply:
                os.write(self._master, reply)

    def _close(self) -> None:
        # The slave stays open until now so the master never reads EIO when a driver closes.
        os.close(self._slave)
        os.close(self._master)


class TcpPrinter(_Transport):
    """The emulator as a network printer on a loopback raw port (like port 9100)."""

    def __init__(self, emulator: EscPosEmulator) -> None:
        super().__init__(emulator)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        host, port = self._server.getsockname()[:2]
        self.url = f"socket://{host}:{port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(0.05)
                self._serve(connection)

    def _serve(self, connection: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                data = connection.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            reply = self.emulator.receive(data)
            if reply:
                connection.sendall(reply)

    def _close(self) -> None:
        self._server.close()


class PluggablePrinter:
    """A serial printer that can be unplugged and plugged back at the same path.

    `path` is a symlink (as udev's /dev/serial/by-id/... names are) to the current
    pseudo-terminal. Unplugging closes the pty's master side, so a driver still
    holding the port gets EIO, as from a USB-serial adapter pulled out; plugging
    back makes a new pty for the same emulator and points the link at it.
    """

    def __init__(self, emulator: EscPosEmulator, path: str) -> None:
        self.emulator = emulator
        self.path = path
        self._device: PtyPrinter | None = None

    def plug_in(self) -> None:
        if self._device is not None:
            return
        device = PtyPrinter(self.emulator)
        device.start()
        staging = f"{self.path}.new"
        os.symlink(device.path, staging)
        os.replace(staging, self.path)
        self._device = device

    def unplug(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.stop()
