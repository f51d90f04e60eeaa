"""A device-neutral receipt layout: what a receipt says, line by line.

Pure value types with no imports of ours, so `kiosk_devices` (which runs on a
kiosk machine with no database) can print them. `shared.receipts.numbering` builds one
from a receipt; renderers (plain text, ESC/POS) lay it out for a width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text, wrapped to the width when too long."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    large: bool = False


@dataclass(frozen=True, slots=True)
class Columns:
    """A label on the left and an amount (already formatted) on the right."""

    left: str
    right: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A horizontal separator."""

    char: str = "-"


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR code; printers without QR support print `data` as text instead."""

    data: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Blank:
    """An empty line."""


Block = Text | Columns | Rule | QrCode | Blank


@dataclass(frozen=True, slots=True)
class ReceiptLayout:
    """A receipt as an ordered list of blocks."""

    blocks: tuple[Block, ...] = field(default_factory=tuple)


def wrap(text: str, width: int) -> list[str]:
    """Split text into lines of at most `width` characters, on spaces where possible."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current or not lines:
        lines.append(current)
    return lines


def columns_line(left: str, right: str, width: int) -> list[str]:
    """Lay a label and a right-aligned value on one line, wrapping the label if needed."""
    room = width - len(right) - 1
    if room < 1:
        return [*wrap(left, width), *(part.rjust(width) for part in wrap(right, width))]
    label_lines = wrap(left, room)
    last = label_lines[-1]
    return [*label_lines[:-1], last.ljust(room) + " " + right]


def render_text(layout: ReceiptLayout, width: int) -> list[str]:
    """Plain-text rendering for a `width`-column printer (42 or 48) or a text email."""
    out: list[str] = []
    for block in layout.blocks:
        match block:
            case Text(text=text, align=align):
                for line in wrap(text, width):
                    if align is Align.CENTER:
                        out.append(line.center(width).rstrip())
                    elif align is Align.RIGHT:
                        out.append(line.rjust(width))
                    else:
                        out.append(line)
            case Columns(left=left, right=right):
                out.extend(columns_line(left, right, width))
            case Rule(char=char):
                out.append(char * width)
            case QrCode(data=data, caption=caption):
                if caption:
                    out.extend(wrap(caption, width))
                out.extend(wrap(data, width))
            case Blank():
                out.append("")
    return out
