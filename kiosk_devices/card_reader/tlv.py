"""BER-TLV parser and encoder (ISO/IEC 8825-1 subset used by EMV and ISO 7816-4).

Tags are kept as the integer value of their raw bytes (``0x9F38`` for PDOL) because
that is how EMV documents name them.  Only definite lengths up to four length bytes are
accepted: EMV forbids indefinite lengths and nothing on a card exceeds 64 KiB.

Card responses are untrusted input, so every malformation raises :class:`TlvError`
(a :class:`CardUnreadableError`), never ``IndexError`` or ``RecursionError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .errors import CardUnreadableError

__all__ = [
    "MAX_DEPTH",
    "Tlv",
    "TlvError",
    "encode",
    "encode_length",
    "encode_many",
    "find",
    "find_all",
    "first_value",
    "is_constructed",
    "parse",
    "parse_dol",
    "tag_bytes",
]

# A nesting depth beyond this is certainly hostile or corrupt; the limit also keeps
# the recursive parser away from Python's recursion limit on crafted input.
MAX_DEPTH = 32
# ISO 7816-4 allows 0x00 and 0xFF bytes before, between and after data objects
# (cards pad records with them); they can therefore never start a tag.
_PADDING = (0x00, 0xFF)
_MAX_TAG_BYTES = 4
_MAX_LENGTH_BYTES = 4


class TlvError(CardUnreadableError):
    """Malformed BER-TLV data (truncated tag or length, bad length form, too deep)."""


@dataclass(frozen=True, slots=True, repr=False)
class Tlv:
    """One data object.

    ``value`` is always the raw value bytes; for a constructed tag ``children`` holds the
    parsed inner objects as well.  The repr never shows the value: values may be a PAN.
    """

    tag: int
    value: bytes = field(repr=False)
    children: tuple[Tlv, ...] = field(default=(), repr=False)

    @property
    def constructed(self) -> bool:
        """Whether the tag's constructed bit (b6 of the first tag byte) is set."""
        return is_constructed(self.tag)

    @classmethod
    def primitive(cls, tag: int, value: bytes) -> Tlv:
        """Build a primitive data object (validates the tag)."""
        if is_constructed(tag):
            raise ValueError(f"tag {tag:X} is constructed")
        tag_bytes(tag)
        return cls(tag, bytes(value))

    @classmethod
    def constructed_of(cls, tag: int, children: Iterable[Tlv]) -> Tlv:
        """Build a constructed data object whose value is the encoding of ``children``."""
        if not is_constructed(tag):
            raise ValueError(f"tag {tag:X} is primitive")
        kids = tuple(children)
        return cls(tag, encode_many(kids), kids)

    def find(self, tag: int) -> Tlv | None:
        """First object with ``tag`` in this object's subtree (itself included)."""
        return find((self,), tag)

    def __repr__(self) -> str:
        kind = "constructed" if self.constructed else "primitive"
        return f"Tlv(tag={self.tag:X}, length={len(self.value)}, {kind})"


def is_constructed(tag: int) -> bool:
    """True when the first byte of ``tag`` has the constructed bit set."""
    first = tag >> (8 * (_tag_length(tag) - 1))
    return bool(first & 0x20)


def _tag_length(tag: int) -> int:
    return max(1, (tag.bit_length() + 7) // 8)


def tag_bytes(tag: int) -> bytes:
    """Raw bytes of ``tag``; raises ``ValueError`` if they do not form exactly one tag."""
    if tag < 0:
        raise ValueError("negative tag")
    raw = tag.to_bytes(_tag_length(tag), "big")
    if len(raw) > _MAX_TAG_BYTES or raw[0] in _PADDING:
        raise ValueError(f"invalid tag {tag:X}")
    multi = raw[0] & 0x1F == 0x1F
    if not multi and len(raw) != 1:
        raise ValueError(f"tag {tag:X}: first byte does not announce more tag bytes")
    if multi:
        if len(raw) < 2:
            raise ValueError(f"tag {tag:X}: missing subsequent tag bytes")
        # Every subsequent byte but the last has b8 set; the last has it clear.
        if any(not b & 0x80 for b in raw[1:-1]) or raw[-1] & 0x80:
            raise ValueError(f"tag {tag:X}: bad continuation bits")
    return raw


def encode_length(length: int) -> bytes:
    """Minimal definite-form BER length."""
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > _MAX_LENGTH_BYTES:
        raise ValueError("length too large")
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode(obj: Tlv) -> bytes:
    """Encode one data object; constructed objects are re-encoded from their children."""
    value = encode_many(obj.children) if obj.constructed and obj.children else obj.value
    return tag_bytes(obj.tag) + encode_length(len(value)) + value


def encode_many(objs: Iterable[Tlv]) -> bytes:
    """Concatenated encoding of ``objs``."""
    return b"".join(encode(o) for o in objs)


def parse(data: bytes | bytearray | memoryview) -> tuple[Tlv, ...]:
    """Parse a sequence of BER-TLV objects, descending into constructed ones.

    Raises :class:`TlvError` on any malformation.
    """
    return _parse(bytes(data), 0)


def _parse(buf: bytes, depth: int) -> tuple[Tlv, ...]:
    if depth > MAX_DEPTH:
        raise TlvError(detail="TLV nesting too deep")
    out: list[Tlv] = []
    pos = 0
    end = len(buf)
    while pos < end:
        if buf[pos] in _PADDING:
            pos += 1
            continue
        tag, pos = _read_tag(buf, pos)
        length, pos = _read_length(buf, pos)
        if length > end - pos:
            raise TlvError(detail=f"TLV length exceeds data for tag {tag:X}")
        value = buf[pos : pos + length]
        pos += length
        children = _parse(value, depth + 1) if is_constructed(tag) else ()
        out.append(Tlv(tag, value, children))
    return tuple(out)


def _read_tag(buf: bytes, pos: int) -> tuple[int, int]:
    tag = buf[pos]
    pos += 1
    if tag & 0x1F != 0x1F:
        return tag, pos
    for _ in range(_MAX_TAG_BYTES - 1):
        if pos >= len(buf):
            raise TlvError(detail="truncated multi-byte tag")
        byte = buf[pos]
        pos += 1
        tag = (tag << 8) | byte
        if not byte & 0x80:
            return tag, pos
    raise TlvError(detail="tag longer than four bytes")


def _read_length(buf: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise TlvError(detail="missing length")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    size = first & 0x7F
    if size == 0:
        raise TlvError(detail="indefinite length is not allowed")
    if size > _MAX_LENGTH_BYTES:
        raise TlvError(detail="length field too long")
    if pos + size > len(buf):
        raise TlvError(detail="truncated length")
    return int.from_bytes(buf[pos : pos + size], "big"), pos + size


def find(objs: Iterable[Tlv], tag: int) -> Tlv | None:
    """Depth-first search for the first object with ``tag``."""
    return next(find_all(objs, tag), None)


def find_all(objs: Iterable[Tlv], tag: int) -> Iterator[Tlv]:
    """Depth-first iterator over every object with ``tag``."""
    for obj in objs:
        if obj.tag == tag:
            yield obj
        if obj.children:
            yield from find_all(obj.children, tag)


def parse_dol(data: bytes | bytearray) -> list[tuple[int, int]]:
    """Parse a Data Object List (PDOL, CDOL…): a list of (tag, length) with no values."""
    buf = bytes(data)
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < len(buf):
        if buf[pos] in _PADDING:
            pos += 1
            continue
        tag, pos = _read_tag(buf, pos)
        length, pos = _read_length(buf, pos)
        out.append((tag, length))
    return out


def first_value(objs: Sequence[Tlv], tag: int) -> bytes | None:
    """Value of the first object with ``tag``, or ``None``."""
    found = find(objs, tag)
    return None if found is None else found.value
