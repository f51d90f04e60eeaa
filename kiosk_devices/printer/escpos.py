"""ESC/POS printers over pyserial: a serial/USB-serial device or a pyserial URL.

`socket://host:9100` reaches network printers on their raw port; the same
status requests work there, as Epson-compatible interfaces pass them through.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from types import TracebackType

import serial

from kiosk_devices.printer import commands
from kiosk_devices.printer.encoder import encode_receipt
from kiosk_devices.printer.errors import (
    CannotOpenDevice,
    PrinterNoAnswer,
    PrintIncomplete,
    error_for_status,
)
from kiosk_devices.printer.profile import PrinterProfile
from kiosk_devices.printer.status import (
    PrinterStatus,
    StatusRequest,
    decode_status,
    is_offline,
    is_paper_sensor_reply,
    is_status_byte,
)
from shared.receipts.layout import ReceiptLayout

if sys.platform != "win32":
    import termios

    # pyserial's POSIX port calls termios directly (tcflush, tcsetattr, tcdrain), and a
    # USB-serial adapter pulled out makes them raise termios.error (EIO), which is not
    # an OSError.
    _PORT_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError, termios.error)
else:  # pragma: no cover - the kiosks run Linux
    _PORT_ERRORS = (serial.SerialException, OSError)


class EscPosPrinter:
    """A `ReceiptPrinter` speaking ESC/POS through pyserial.

    The port opens on first use and reopens after an I/O error, so a printer
    that was switched off or unplugged works again once it is back. Calls are
    serialised: a status poll from another thread waits for a print to end
    rather than mixing its bytes into the job.
    """

    def __init__(
        self,
        url: str,
        profile: PrinterProfile,
        *,
        baudrate: int = 38400,
        status_timeout: float = 1.0,
        print_timeout: float = 30.0,
        write_timeout: float = 10.0,
        poll_interval: float = 0.5,
    ) -> None:
        """`baudrate` must match the printer's setting (`socket://` ignores it).
        `status_timeout` bounds each status answer; `print_timeout` bounds the
        wait for the printer to confirm it printed the whole receipt, during which
        the printer is asked every `poll_interval` whether it stopped (paper out,
        cover open), which ends the wait at once."""
        self.url = url
        self.profile = profile
        self._baudrate = baudrate
        self._status_timeout = status_timeout
        self._print_timeout = print_timeout
        self._write_timeout = write_timeout
        self._poll_interval = poll_interval
        self._port: serial.Serial | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> EscPosPrinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def print_receipt(self, layout: ReceiptLayout) -> None:
        """Print `layout` and cut; see `ReceiptPrinter.print_receipt` for the errors."""
        # Encode before touching the printer, so a bad layout never leaves half a job.
        job = encode_receipt(layout, self.profile)
        with self._lock:
            port = self._open()
            problem = error_for_status(self._query(port))
            if problem is not None:
                raise problem
            try:
                port.reset_input_buffer()
                written = port.write(job)
                if self.profile.confirm_print:
                    port.write(commands.paper_sensor_request())
                port.flush()
            except _PORT_ERRORS as exc:
                self._discard()
                raise PrintIncomplete(detail=f"write to {self.url} failed: {exc}") from exc
            if written is not None and written < len(job):
                raise PrintIncomplete(detail=f"only {written} of {len(job)} bytes were sent")
            if self.profile.confirm_print and self._confirmed(port):
                return
            # Unconfirmed (or not asked): the real-time status says whether it went wrong.
            after = self._query(port)
            problem = error_for_status(after)
            if problem is not None:
                raise PrintIncomplete(problem)
            if self.profile.confirm_print:
                raise PrintIncomplete(PrinterNoAnswer("no confirmation that the receipt printed"))

    def status(self) -> PrinterStatus:
        """The printer's status now; see `ReceiptPrinter.status`."""
        with self._lock:
            return self._query(self._open())

    def close(self) -> None:
        """Close the port; the next call opens it again."""
        with self._lock:
            self._discard()

    def _open(self) -> serial.Serial:
        if self._port is None:
            try:
                self._port = serial.serial_for_url(
                    self.url,
                    baudrate=self._baudrate,
                    timeout=self._status_timeout,
                    write_timeout=self._write_timeout,
                    # Two processes writing to one printer would interleave receipts.
                    exclusive=True,
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                raise CannotOpenDevice(f"{self.url}: {exc}") from exc
        return self._port

    def _discard(self) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        # pyserial's socket:// close() skips closing the socket when shutdown()
        # fails, which it does once the printer has dropped the connection.
        connection = getattr(port, "_socket", None)
        # A vanished device may fail to close; there is nothing left to release.
        with contextlib.suppress(*_PORT_ERRORS):
            port.close()
        if isinstance(connection, socket.socket):
            connection.close()

    def _read_byte(self, port: serial.Serial, timeout: float) -> int | None:
        port.timeout = timeout
        answer = port.read(1)
        return answer[0] if answer else None

    def _query(self, port: serial.Serial) -> PrinterStatus:
        answers: dict[StatusRequest, int] = {}
        try:
            for request in StatusRequest:
                # Drop anything stale (a late answer to an earlier timed-out request).
                port.reset_input_buffer()
                port.write(commands.status_request(request))
                answer = self._read_byte(port, self._status_timeout)
                if answer is None or not is_status_byte(answer):
                    return PrinterStatus.silent()
                answers[request] = answer
        except _PORT_ERRORS:
            # A vanished device reads as silence; the next call reopens the port.
            self._discard()
            return PrinterStatus.silent()
        return decode_status(answers)

    def _confirmed(self, port: serial.Serial) -> bool:
        """Wait for the answer to GS r 1, asking the printer how it is meanwhile.

        A printer that runs out of paper or has its cover opened mid-job never
        answers GS r; polling DLE EOT 1 (answered at once, even while halted)
        notices it stopped within `poll_interval`, so the kiosk can tell the
        person now instead of after the whole print timeout. False means
        unconfirmed: the caller's full status query says why.
        """
        deadline = time.monotonic() + self._print_timeout
        polled = False
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                wait = min(self._status_timeout if polled else self._poll_interval, remaining)
                answer = self._read_byte(port, wait)
                if answer is not None and is_paper_sensor_reply(answer):
                    return True
                if answer is not None and is_status_byte(answer):
                    if is_offline(answer):
                        return False
                    polled = False  # Still printing; ask again after the next interval.
                elif answer is None and not polled:
                    port.write(commands.status_request(StatusRequest.PRINTER))
                    polled = True
                else:
                    # No answer to the poll: a silent printer may still finish, so the
                    # wait goes on to the print timeout; ask again.
                    polled = False
            if polled:
                # A poll is still in flight: take its answer now, so the caller's status
                # query never reads it as the answer to one of its own requests.
                answer = self._read_byte(port, self._status_timeout)
                return answer is not None and is_paper_sensor_reply(answer)
        except _PORT_ERRORS:
            self._discard()
        return False
