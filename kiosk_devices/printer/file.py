"""A printer that writes each job to files: the demo's and tests' printer.

The ESC/POS bytes are appended to `<name>.bin`, exactly what a real printer
would be sent, and a readable rendering to `<name>.txt` beside it; both grow
like a paper roll, one receipt after another.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from kiosk_devices.printer.encoder import encode_receipt, render_receipt_text
from kiosk_devices.printer.errors import CannotOpenDevice, PrintIncomplete
from kiosk_devices.printer.profile import PrinterProfile
from kiosk_devices.printer.status import PrinterStatus
from shared.receipts.layout import ReceiptLayout


class FilePrinter:
    """A `ReceiptPrinter` that appends jobs to `path` (.bin) and its `.txt` sibling."""

    def __init__(self, path: str | os.PathLike[str], profile: PrinterProfile) -> None:
        self.bin_path = Path(path).with_suffix(".bin")
        self.text_path = self.bin_path.with_suffix(".txt")
        self.profile = profile

    def __enter__(self) -> FilePrinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def print_receipt(self, layout: ReceiptLayout) -> None:
        """Append the job's bytes and its text rendering, ending with a cut mark."""
        job = encode_receipt(layout, self.profile)
        text = "\n".join([*render_receipt_text(layout, self.profile), self._cut_mark(), ""])
        try:
            self.bin_path.parent.mkdir(parents=True, exist_ok=True)
            binary = self.bin_path.open("ab")
            readable = self.text_path.open("a", encoding="utf-8")
        except OSError as exc:
            raise CannotOpenDevice(f"{self.bin_path}: {exc}") from exc
        with binary, readable:
            try:
                binary.write(job)
                readable.write(text)
            except OSError as exc:
                raise PrintIncomplete(detail=f"{self.bin_path}: {exc}") from exc

    def status(self) -> PrinterStatus:
        """Always ready: files do not run out of paper."""
        return PrinterStatus.ready()

    def close(self) -> None:
        """Nothing to release: files are opened per receipt."""

    def _cut_mark(self) -> str:
        label = " cut " if self.profile.cutter else " tear "
        return label.center(self.profile.width, "-")
