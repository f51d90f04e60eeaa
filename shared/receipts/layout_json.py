"""A receipt layout as JSON, for the kiosk API: the server lays the receipt out once and a
kiosk prints exactly that, through its own printer driver.

Like `layout`, it imports nothing of ours but `layout`, so a kiosk machine can load it.
"""

from __future__ import annotations

from typing import Any

from shared.receipts.layout import Align, Blank, Block, Columns, QrCode, ReceiptLayout, Rule, Text


class LayoutFormatError(ValueError):
    """The JSON is not a receipt layout this version understands."""


def to_json(layout: ReceiptLayout) -> list[dict[str, Any]]:
    """The blocks, in order, each an object with its `kind`."""
    return [_block_to_json(block) for block in layout.blocks]


def _block_to_json(block: Block) -> dict[str, Any]:
    match block:
        case Text():
            return {
                "kind": "text",
                "text": block.text,
                "align": block.align.value,
                "bold": block.bold,
                "large": block.large,
            }
        case Columns():
            return {"kind": "columns", "left": block.left, "right": block.right, "bold": block.bold}
        case Rule():
            return {"kind": "rule", "char": block.char}
        case QrCode():
            return {"kind": "qr", "data": block.data, "caption": block.caption}
        case Blank():
            return {"kind": "blank"}
    raise TypeError(f"not a layout block: {block!r}")  # pragma: no cover - Block is closed


def from_json(data: object) -> ReceiptLayout:
    """The layout `to_json` gave; anything else raises `LayoutFormatError` naming the block."""
    if not isinstance(data, list):
        raise LayoutFormatError("a receipt layout is a list of blocks")
    return ReceiptLayout(tuple(_block_from_json(i, item) for i, item in enumerate(data)))


def _text(item: dict[str, Any], key: str, index: int, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise LayoutFormatError(f"block {index}: {key!r} must be text")
    return value


def _flag(item: dict[str, Any], key: str, index: int) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise LayoutFormatError(f"block {index}: {key!r} must be true or false")
    return value


def _block_from_json(index: int, item: object) -> Block:
    if not isinstance(item, dict):
        raise LayoutFormatError(f"block {index}: not an object")
    kind = item.get("kind")
    if kind == "text":
        align = _text(item, "align", index, Align.LEFT.value)
        if align not in {a.value for a in Align}:
            raise LayoutFormatError(f"block {index}: unknown alignment {align!r}")
        return Text(
            _text(item, "text", index),
            Align(align),
            bold=_flag(item, "bold", index),
            large=_flag(item, "large", index),
        )
    if kind == "columns":
        return Columns(
            _text(item, "left", index), _text(item, "right", index), _flag(item, "bold", index)
        )
    if kind == "rule":
        char = _text(item, "char", index, "-")
        if len(char) != 1:
            raise LayoutFormatError(f"block {index}: a rule is drawn with one character")
        return Rule(char)
    if kind == "qr":
        return QrCode(_text(item, "data", index), _text(item, "caption", index, ""))
    if kind == "blank":
        return Blank()
    raise LayoutFormatError(f"block {index}: unknown kind {kind!r}")
