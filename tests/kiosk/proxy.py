"""A TCP relay between the kiosk and the server on loopback, to lose the network on cue.

`up`: bytes pass both ways. `down`: every connection is cut and new ones are closed at
once (the kiosk sees the server as unreachable). `lose_next_payment()`: the next
`POST /api/v1/kiosk/payments` reaches the server, which charges, but its answer is
dropped and the network goes down with it: a payment in flight when the network fails.
`cut(request_line)`: requests starting that way never reach the server, their
connection is closed (the kiosk hears nothing; the server did nothing), until `uncut()`
(the HTTP client retries an idempotent request once on a closed keep-alive connection, so
"the next one" would not be enough).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading

PAYMENT_REQUEST = b"POST /api/v1/kiosk/payments "


class Relay:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._up = True
        self._lose_payment = False
        self._cut: list[bytes] = []
        self.payment_answer_dropped = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    # --- cues ---------------------------------------------------------------------
    def down(self) -> None:
        self._up = False
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._connections.clear()

    def up(self) -> None:
        self._up = True

    def lose_next_payment(self) -> None:
        self._lose_payment = True

    def cut(self, request_line: str) -> None:
        self._cut.append(request_line.encode())

    def uncut(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._stopping = True
        self.down()
        self._listener.close()

    # --- relaying -----------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up:
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections |= {client, server}
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        swallowing = False
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [], 0.2)
                if self._stopping:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if any(data.startswith(cut) for cut in self._cut):
                            return  # closed below, the request unsent
                        if self._lose_payment and PAYMENT_REQUEST in data:
                            self._lose_payment = False
                            swallowing = True
                        server.sendall(data)
                    elif swallowing:
                        # The server answered; the kiosk never hears it, and the
                        # network stays down until the test brings it back.
                        self.down()
                        self.payment_answer_dropped.set()
                        return
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._connections -= {client, server}
            client.close()
            server.close()
