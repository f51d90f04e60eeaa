"""Lay a `ReceiptLayout` out for a printer profile, as ESC/POS bytes or as text.

Line breaking and column padding come from `shared.receipts.layout` (`wrap`,
`columns_line`), so a printed receipt reads line for line like its plain-text
rendering. Text alignment is left to the printer (ESC a), which also centres
double-size lines correctly; columns and rules are padded here because they
fill the whole line.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk_devices.printer import charset, commands
from kiosk_devices.printer.profile import PrinterProfile
from shared.receipts.layout import (
    Align,
    Blank,
    Columns,
    QrCode,
    ReceiptLayout,
    Rule,
    Text,
    columns_line,
    wrap,
)

# Without a cutter, enough feed to bring the last line past the tear bar.
_TEAR_OFF_FEED = 4


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line, its text already mapped to the profile's code page."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    large: bool = False


@dataclass(frozen=True, slots=True)
class Symbol:
    """A QR code printed as a symbol."""

    data: bytes


Item = Line | Symbol


def _qr_bytes(data: str) -> bytes | None:
    """The QR payload, or None when the symbol cannot hold it and it must print as text."""
    if not data or not data.isprintable():
        return None
    payload = data.encode("utf-8")
    return payload if len(payload) <= commands.QR_MAX_BYTES else None


def plan(layout: ReceiptLayout, profile: PrinterProfile) -> list[Item]:
    """The lines and symbols `layout` prints as on `profile`, in order."""
    width = profile.width

    def text(value: str) -> str:
        return charset.printable(value, profile.code_page)

    items: list[Item] = []
    for block in layout.blocks:
        match block:
            case Text(text=value, align=align, bold=is_bold, large=large):
                # Double-width characters take two columns each.
                columns = width // 2 if large else width
                items.extend(
                    Line(line, align, is_bold, large) for line in wrap(text(value), columns)
                )
            case Columns(left=left, right=right, bold=is_bold):
                items.extend(
                    Line(line, bold=is_bold)
                    for line in columns_line(text(left), text(right), width)
                )
            case Rule(char=char):
                # One character repeated: a spelled-out rule ("…" → "...") keeps its
                # first character, and a rule of '?' would look like an error.
                printed = text(char[:1] or "-")[:1]
                items.append(Line(("-" if printed in ("?", "") else printed) * width))
            case QrCode(data=data, caption=caption):
                if caption:
                    items.extend(Line(line) for line in wrap(text(caption), width))
                payload = _qr_bytes(data) if profile.qr else None
                if payload is None:
                    items.extend(Line(line) for line in wrap(text(data), width))
                else:
                    items.append(Symbol(payload))
            case Blank():
                items.append(Line(""))
    return items


class _Modes:
    """Emit mode commands only when a mode changes, as the printer keeps them until reset."""

    def __init__(self) -> None:
        self.align = Align.LEFT
        self.bold = False
        self.large = False

    def set(self, align: Align, bold: bool, large: bool) -> bytes:
        out = b""
        if align is not self.align:
            out += commands.align(align)
        if bold != self.bold:
            out += commands.bold(bold)
        if large != self.large:
            out += commands.character_size(2, 2) if large else commands.character_size()
        self.align, self.bold, self.large = align, bold, large
        return out


def encode_receipt(layout: ReceiptLayout, profile: PrinterProfile) -> bytes:
    """The complete ESC/POS job for `layout`: reset, code page, lines, QR, then cut or feed."""
    out = bytearray(commands.initialize())
    out += commands.code_page(profile.code_page.escpos_table)
    modes = _Modes()
    for item in plan(layout, profile):
        match item:
            case Line(text=text, align=align, bold=is_bold, large=large):
                out += modes.set(align, is_bold, large)
                out += charset.encode(text, profile.code_page) + commands.LF
            case Symbol(data=data):
                out += modes.set(Align.CENTER, False, False)
                out += commands.qr_model()
                out += commands.qr_module_size(profile.qr_module_size)
                out += commands.qr_error_correction(commands.QrErrorLevel.M)
                out += commands.qr_store(data)
                out += commands.qr_print()
    out += modes.set(Align.LEFT, False, False)
    out += commands.cut() if profile.cutter else commands.feed(_TEAR_OFF_FEED)
    return bytes(out)


def render_receipt_text(layout: ReceiptLayout, profile: PrinterProfile) -> list[str]:
    """A readable plain-text picture of the printed receipt, one string per line.

    Large lines are aligned across the full width, as they look on paper; a QR
    symbol shows as a "[QR]" line above its data.
    """
    width = profile.width
    out: list[str] = []
    for item in plan(layout, profile):
        match item:
            case Line(text=text, align=align, large=large) if large:
                # A double-width line spans twice its length; place it by its printed extent.
                pad = width - 2 * len(text)
                if align is Align.CENTER:
                    out.append(" " * (pad // 2) + text)
                elif align is Align.RIGHT:
                    out.append(" " * pad + text)
                else:
                    out.append(text)
            case Line(text=text, align=align):
                # The same padding as shared.receipts.layout.render_text, so the two agree.
                if align is Align.CENTER:
                    out.append(text.center(width).rstrip())
                elif align is Align.RIGHT:
                    out.append(text.rjust(width))
                else:
                    out.append(text)
            case Symbol(data=data):
                lines = ["[QR]", *wrap(data.decode("utf-8"), width)]
                out.extend(line.center(width).rstrip() for line in lines)
    return out
