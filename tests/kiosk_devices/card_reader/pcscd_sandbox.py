"""Run pcscd in namespaces of its own: ``unshare --mount --net python pcscd_sandbox.py DIR
...`` (or ``unshare --net ... -`` where no mount namespace can be made).

Inside the new namespaces this brings the loopback interface up (vpcd listens on
127.0.0.1:35963 of *this* network namespace, so another pcscd's vpcd elsewhere on the
machine is no obstacle), binds DIR over /run/pcscd unless DIR is ``-`` (so pcscd's fixed
socket path lands in DIR, where the tests reach it through PCSCLITE_CSOCK_NAME), then
becomes pcscd with the remaining arguments. Run as a script; it imports nothing of ours.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def main(socket_dir: str, pcscd_args: list[str]) -> None:
    loopback_up()
    os.makedirs("/run/pcscd", exist_ok=True)
    if socket_dir != "-":
        subprocess.run(["mount", "--bind", socket_dir, "/run/pcscd"], check=True)
    os.execvp("pcscd", ["pcscd", *pcscd_args])  # noqa: S606 - becoming pcscd, no shell wanted


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
