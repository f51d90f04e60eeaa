"""A virtual ICC for vsmartcard's vpcd driver: the test-side "card" behind pcscd.

vpcd (loaded by pcscd from /etc/reader.conf.d/vpcd) listens on 127.0.0.1:35963 for
reader "Virtual PCD 00 00".  A card is "inserted" by connecting to it and "removed" by
closing the connection.  Every message is a 2-byte big-endian length plus payload; a
1-byte payload is a control message (0 power off, 1 power on, 2 reset, 4 get ATR,
answered with the ATR); anything longer is a command APDU, answered with the response.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963
VPCD_READER = "Virtual PCD 00 00"

_CTRL_OFF, _CTRL_ON, _CTRL_RESET, _CTRL_ATR = 0, 1, 2, 4

# Answers one APDU; None means "vanish now" (simulates pulling the card mid-command).
Responder = Callable[[bytes], bytes | None]


class VirtualCard:
    """One insertion of a card; :meth:`insert` connects, :meth:`remove` disconnects."""

    def __init__(
        self,
        atr: bytes,
        responder: Responder,
        *,
        connect: Callable[[], socket.socket] | None = None,
    ) -> None:
        self.atr = atr
        self._responder = responder
        self._connect = connect or (
            lambda: socket.create_connection((VPCD_HOST, VPCD_PORT), timeout=1.0)
        )
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.apdus: list[bytes] = []
        self.controls: list[int] = []
        self.error: BaseException | None = None

    def insert(self, connect_timeout: float = 10.0) -> None:
        """Connect to vpcd (retrying while pcscd is still starting)."""
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                sock = self._connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="vicc", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Disconnect: pcscd sees the card removed at vpcd's next presence poll."""
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def inserted(self) -> bool:
        """Still connected to vpcd."""
        return self._thread is not None and self._thread.is_alive()

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes:
        buf = bytearray()
        while len(buf) < size:
            chunk = sock.recv(size - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        try:
            while True:
                (size,) = struct.unpack(">H", self._recv_exact(sock, 2))
                message = self._recv_exact(sock, size)
                if size == 1:
                    self.controls.append(message[0])
                    if message[0] == _CTRL_ATR:
                        self._send(sock, self.atr)
                    continue
                self.apdus.append(message)
                response = self._responder(message)
                if response is None:
                    # Pulled out mid-command: drop the connection without answering.
                    sock.close()
                    return
                self._send(sock, response)
        except (EOFError, OSError):
            return
        except BaseException as exc:  # surfaced by tests via .error
            self.error = exc
            sock.close()
