from __future__ import annotations

import datetime as dt
import json

import pytest

from shared.context_ref import (
    DEFAULT_TTL,
    SignedContext,
    _b64,
    _mac,
    read_context,
    read_ref,
    sign_context,
    sign_ref,
)

SECRET = "context-secret"
NOW = dt.datetime(2026, 3, 14, 12, 0, tzinfo=dt.UTC)


def test_round_trip() -> None:
    token = sign_ref(SECRET, "receipt", "R-2026-000042", now=NOW)
    assert read_ref(SECRET, token, now=NOW) == ("receipt", "R-2026-000042")
    assert "." in token and all(c.isalnum() or c in "-_." for c in token)


def test_another_secret_cannot_read_it() -> None:
    token = sign_ref(SECRET, "receipt", "R-2026-000042", now=NOW)
    assert read_ref("another-secret", token, now=NOW) is None


@pytest.mark.parametrize("position", [0, 5, -1])
def test_any_changed_character_is_refused(position: int) -> None:
    token = sign_ref(SECRET, "transaction", "TX-AAAA-BBBB-CCCC", now=NOW)
    flipped = "A" if token[position] != "A" else "B"
    tampered = (
        token[:position] + flipped + token[position + 1 :]
        if position != -1
        else token[:-1] + flipped
    )
    assert read_ref(SECRET, tampered, now=NOW) is None


def test_a_forged_payload_with_an_old_signature_is_refused() -> None:
    receipt = sign_ref(SECRET, "receipt", "R-2026-000001", now=NOW)
    other = sign_ref(SECRET, "receipt", "R-2026-000002", now=NOW)
    swapped = other.split(".")[0] + "." + receipt.split(".")[1]
    assert read_ref(SECRET, swapped, now=NOW) is None


def test_expiry() -> None:
    token = sign_ref(SECRET, "invoice", "INV-1", now=NOW)
    assert read_ref(SECRET, token, now=NOW + DEFAULT_TTL - dt.timedelta(seconds=1)) is not None
    assert read_ref(SECRET, token, now=NOW + DEFAULT_TTL) is None
    short = sign_ref(SECRET, "invoice", "INV-1", ttl=dt.timedelta(minutes=5), now=NOW)
    assert read_ref(SECRET, short, now=NOW + dt.timedelta(minutes=6)) is None


@pytest.mark.parametrize(
    "junk", ["", ".", "a.b.c", "%%%.%%%", "x" * 600, "eyJ.!!", "bm90anNvbg.AAAA"]
)
def test_junk_is_refused_quietly(junk: str) -> None:
    assert read_ref(SECRET, junk, now=NOW) is None


def test_kind_and_ident_are_required() -> None:
    with pytest.raises(ValueError, match="needs a kind and an identifier"):
        sign_ref(SECRET, "", "R-1")
    with pytest.raises(ValueError, match="needs a kind and an identifier"):
        sign_ref(SECRET, "receipt", "")


def test_a_kiosk_page_signs_its_channel_and_terminal() -> None:
    token = sign_context(SECRET, "receipt", "R-2026-1", channel="kiosk", terminal="K-1", now=NOW)
    assert read_context(SECRET, token, now=NOW) == SignedContext(
        "receipt", "R-2026-1", "kiosk", "K-1"
    )
    # The record alone, for what only needs that.
    assert read_ref(SECRET, token, now=NOW) == ("receipt", "R-2026-1")
    assert read_context(SECRET, sign_ref(SECRET, "invoice", "I", now=NOW), now=NOW) == (
        SignedContext("invoice", "I")
    )


def test_a_terminal_cannot_be_added_to_a_signed_web_token() -> None:
    web = sign_ref(SECRET, "receipt", "R-2026-1", now=NOW)
    kiosk = sign_context(SECRET, "receipt", "R-2026-1", channel="kiosk", terminal="K-1", now=NOW)
    grafted = kiosk.split(".")[0] + "." + web.split(".")[1]
    assert read_context(SECRET, grafted, now=NOW) is None


@pytest.mark.parametrize(
    "fields",
    [[1, 2, 3], ["r", "x", 9999999999, 5, None], ["r", "x", 9999999999, None], {"kind": "r"}],
)
def test_a_signed_payload_of_the_wrong_shape_is_refused(fields: object) -> None:
    payload = json.dumps(fields).encode()
    token = f"{_b64(payload)}.{_b64(_mac(SECRET, payload))}"
    assert read_context(SECRET, token, now=NOW) is None
