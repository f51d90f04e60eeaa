"""An ASGI app behind a real uvicorn on loopback, in a thread, for tests that need real
HTTP (chunked bodies, access logs, a sender that opens its own connection)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(
    app: Any, sock: socket.socket | None = None, *, access_log: bool = False
) -> Iterator[int]:
    """Serve `app` until the block ends; yields the port. Give `sock` (bound already) when
    the port must be known before the app is built."""
    own = sock is None
    if sock is None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, lifespan="off", ws="none", access_log=access_log)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if own:
            sock.close()
