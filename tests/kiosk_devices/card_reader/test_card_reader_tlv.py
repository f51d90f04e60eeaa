"""BER-TLV parser/encoder: examples plus hypothesis properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk_devices.card_reader.errors import CardUnreadableError
from kiosk_devices.card_reader.tlv import (
    MAX_DEPTH,
    Tlv,
    TlvError,
    encode,
    encode_length,
    encode_many,
    find,
    is_constructed,
    parse,
    parse_dol,
    tag_bytes,
)

# No example database: it would be written to the repository root.
PROPERTY = settings(database=None, max_examples=300, deadline=None)


# --- strategies -------------------------------------------------------------------
@st.composite
def tags(draw: st.DrawFn, constructed: bool | None = None) -> int:
    cls = draw(st.integers(0, 3)) << 6
    cons = 0x20 if (draw(st.booleans()) if constructed is None else constructed) else 0
    number = draw(st.integers(0, 30))
    # 0x00 and 0xFF are padding bytes, never a tag's first byte.
    if draw(st.booleans()) or cls | cons == 0xE0:
        return cls | cons | number if cls | cons | number else 0x01
    first = cls | cons | 0x1F
    extra = draw(st.integers(1, 3))
    middle = [draw(st.integers(0x80, 0xFF)) for _ in range(extra - 1)]
    last = draw(st.integers(0x01, 0x7F))
    return int.from_bytes(bytes([first, *middle, last]), "big")


def primitives() -> st.SearchStrategy[Tlv]:
    return st.builds(Tlv.primitive, tags(constructed=False), st.binary(max_size=300))


def trees() -> st.SearchStrategy[Tlv]:
    return st.recursive(
        primitives(),
        lambda kids: st.builds(
            Tlv.constructed_of, tags(constructed=True), st.lists(kids, max_size=4)
        ),
        max_leaves=12,
    )


# --- properties --------------------------------------------------------------------
@PROPERTY
@given(st.lists(trees(), max_size=5))
def test_encode_parse_round_trip(objs: list[Tlv]) -> None:
    assert parse(encode_many(objs)) == tuple(objs)


@PROPERTY
@given(tags())
def test_tag_bytes_round_trip(tag: int) -> None:
    raw = tag_bytes(tag)
    parsed = parse(raw + b"\x00")
    assert parsed == (Tlv(tag, b""),)
    assert parsed[0].constructed == is_constructed(tag)


@PROPERTY
@given(st.integers(0, 2**32 - 1))
def test_length_encoding_is_minimal(length: int) -> None:
    raw = encode_length(length)
    if length < 0x80:
        assert raw == bytes([length])
    else:
        assert raw[0] == 0x80 | (len(raw) - 1)
        assert raw[1] != 0
        assert int.from_bytes(raw[1:], "big") == length


@PROPERTY
@given(st.integers(0, 70_000))
def test_long_values_round_trip(length: int) -> None:
    obj = Tlv.primitive(0x9F4B, b"\xa5" * length)
    assert parse(encode(obj)) == (obj,)


@PROPERTY
@given(primitives(), st.integers(1, 1000))
def test_length_beyond_data_is_rejected(obj: Tlv, excess: int) -> None:
    raw = tag_bytes(obj.tag) + encode_length(len(obj.value) + excess) + obj.value
    with pytest.raises(TlvError):
        parse(raw)


@PROPERTY
@given(primitives(), st.integers(5, 0x7F))
def test_overlong_length_field_is_rejected(obj: Tlv, size: int) -> None:
    raw = tag_bytes(obj.tag) + bytes([0x80 | size]) + bytes(size) + obj.value
    with pytest.raises(TlvError):
        parse(raw)


@PROPERTY
@given(tags(), st.integers(1, 4))
def test_truncated_long_length_is_rejected(tag: int, size: int) -> None:
    raw = tag_bytes(tag) + bytes([0x80 | size]) + b"\x01" * (size - 1)
    with pytest.raises(TlvError):
        parse(raw)


@PROPERTY
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_typed_errors(data: bytes) -> None:
    # TlvError is the only exception allowed out; anything else fails the test.
    outcome: object
    try:
        outcome = parse(data)
    except TlvError as exc:
        outcome = exc
    assert isinstance(outcome, tuple | CardUnreadableError)
    if isinstance(outcome, CardUnreadableError):
        assert outcome.code == "card_unreadable"
    with contextlib.suppress(TlvError):
        parse_dol(data)


@PROPERTY
@given(st.lists(trees(), min_size=1, max_size=3), st.data())
def test_truncating_valid_encoding_never_crashes(objs: list[Tlv], data: st.DataObject) -> None:
    raw = encode_many(objs)
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(TlvError):
        parse(raw[:cut])


# --- examples ----------------------------------------------------------------------
def test_parses_emv_fci_with_multibyte_tags_and_long_lengths() -> None:
    pdol = bytes.fromhex("9F66049F02069F37045F2A02")
    label = b"X" * 130  # forces a long-form (81 82) length
    raw = bytes.fromhex("6F")
    inner = (
        bytes.fromhex("8407A0000000031010")
        + bytes.fromhex("A5")
        + encode_length(len(label) + 3 + len(pdol) + 3)
        + b"\x50\x81\x82"
        + label
        + b"\x9f\x38"
        + bytes([len(pdol)])
        + pdol
    )
    raw += encode_length(len(inner)) + inner
    (fci,) = parse(raw)
    assert fci.constructed
    pdol_obj = find((fci,), 0x9F38)
    assert pdol_obj is not None
    assert pdol_obj.value == pdol
    assert parse_dol(pdol) == [(0x9F66, 4), (0x9F02, 6), (0x9F37, 4), (0x5F2A, 2)]
    label_obj = fci.find(0x50)
    assert label_obj is not None
    assert label_obj.value == label


def test_padding_bytes_between_objects_are_skipped() -> None:
    assert parse(b"\x00\x5a\x01\x42\xff\x00") == (Tlv(0x5A, b"\x42"),)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x5a\x80",  # indefinite length
        b"\x5a\x85\x00\x00\x00\x00\x01\x00",  # 5 length bytes
        b"\x5a",  # missing length
        b"\x9f",  # truncated multi-byte tag
        b"\x9f\x81\x81\x81\x01\x00",  # tag longer than 4 bytes
        b"\x5a\x02\x01",  # value shorter than length
        b"\x70\x03\x5a\x05\x01",  # bad child inside a constructed object
    ],
)
def test_malformed_examples_raise_tlv_error(raw: bytes) -> None:
    with pytest.raises(TlvError):
        parse(raw)


def test_deep_nesting_is_a_typed_error_not_recursion_error() -> None:
    raw = b""
    for _ in range(MAX_DEPTH + 5):
        raw = b"\x70" + encode_length(len(raw)) + raw
    with pytest.raises(TlvError):
        parse(raw)


def test_repr_never_shows_values() -> None:
    obj = Tlv.primitive(0x5A, bytes.fromhex("4242424242424242"))
    assert "42" not in repr(obj).replace("5A", "")
    assert repr(obj) == "Tlv(tag=5A, length=8, primitive)"


@pytest.mark.parametrize("bad", [0x00, 0xFF, 0x9F, 0x5A5A, 0x9F8001FF, -1])
def test_invalid_tags_are_refused_by_the_encoder(bad: int) -> None:
    with pytest.raises(ValueError, match="tag"):
        encode(Tlv(bad, b""))
