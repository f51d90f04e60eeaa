"""EMV read flow: application selection, GET PROCESSING OPTIONS, READ RECORD.

This reads only what card-present tokenization needs (PAN, expiry, name, track 2); it
does no offline data authentication, cardholder verification or cryptogram generation.
It is transport-agnostic: give it anything that implements :class:`ApduTransport`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from .apdu import (
    ApduTransport,
    ResponseApdu,
    exchange,
    get_processing_options,
    read_record,
    select_by_name,
)
from .brand import KNOWN_AIDS, brand_for_aid
from .card_data import CardData, luhn_valid
from .errors import CardBlockedError, CardUnreadableError, NotPaymentCardError
from .terminal import TerminalData, build_dol_data
from .tlv import Tlv, find, find_all, first_value, parse, parse_dol

__all__ = ["PPSE", "PSE", "Application", "discover_applications", "read_payment_card"]

logger = logging.getLogger(__name__)

PPSE = b"2PAY.SYS.DDF01"  # proximity payment system environment (contactless directory)
PSE = b"1PAY.SYS.DDF01"  # payment system environment (contact directory)

SW_OK = 0x9000
SW_SELECTED_FILE_INVALIDATED = 0x6283  # application blocked
SW_FUNCTION_NOT_SUPPORTED = 0x6A81  # card blocked (or SELECT unsupported)
SW_RECORD_NOT_FOUND = 0x6A83
SW_CONDITIONS_NOT_SATISFIED = 0x6985  # GPO refused: EMV says try the next application

_MAX_DIRECTORY_RECORDS = 16
# Priority 0 (or no tag 87) means "no priority": such applications go last.
_NO_PRIORITY = 16


class _ApplicationBlocked(Exception):
    """Internal: this candidate answered 6283; EMV says drop it and try the next."""


@dataclass(frozen=True, slots=True)
class Application:
    """A candidate payment application found during selection."""

    aid: bytes
    priority: int = _NO_PRIORITY
    order: int = 0  # position in discovery, breaks priority ties as EMV says

    @property
    def sort_key(self) -> tuple[int, int]:
        """Lower sorts first: priority 1 is the highest."""
        return (self.priority, self.order)


def _priority(entry: Sequence[Tlv]) -> int:
    raw = first_value(entry, 0x87)
    if not raw:
        return _NO_PRIORITY
    value = raw[0] & 0x0F  # b8 is "cardholder confirmation required", not priority
    return value or _NO_PRIORITY


def _directory_entries(objs: Sequence[Tlv], start: int) -> list[Application]:
    apps: list[Application] = []
    for entry in find_all(objs, 0x61):
        aid = first_value(entry.children, 0x4F)
        if aid and 5 <= len(aid) <= 16:
            apps.append(Application(aid, _priority(entry.children), start + len(apps)))
    return apps


def _check_blocked_card(response: ResponseApdu) -> None:
    if response.sw == SW_FUNCTION_NOT_SUPPORTED:
        raise CardBlockedError(detail="SW 6A81 on SELECT")


def _from_ppse(transport: ApduTransport) -> list[Application]:
    response = exchange(transport, select_by_name(PPSE))
    _check_blocked_card(response)
    if not response.ok:
        logger.debug("PPSE not available (sw=%04X)", response.sw)
        return []
    return _directory_entries(parse(response.data), 0)


def _from_pse(transport: ApduTransport) -> list[Application]:
    response = exchange(transport, select_by_name(PSE))
    _check_blocked_card(response)
    if not response.ok:
        logger.debug("PSE not available (sw=%04X)", response.sw)
        return []
    sfi_raw = first_value(parse(response.data), 0x88)
    if not sfi_raw or not 1 <= sfi_raw[0] <= 30:
        return []
    apps: list[Application] = []
    for record in range(1, _MAX_DIRECTORY_RECORDS + 1):
        rec = exchange(transport, read_record(sfi_raw[0], record))
        if rec.sw == SW_RECORD_NOT_FOUND:
            break
        if not rec.ok:
            raise CardUnreadableError(detail=f"SW {rec.sw:04X} reading PSE directory")
        apps.extend(_directory_entries(parse(rec.data), len(apps)))
    return apps


def _from_known_aids(transport: ApduTransport) -> tuple[list[Application], bool]:
    apps: list[Application] = []
    blocked = False
    for index, (aid, _brand) in enumerate(KNOWN_AIDS):
        response = exchange(transport, select_by_name(aid))
        _check_blocked_card(response)
        if response.sw == SW_SELECTED_FILE_INVALIDATED:
            blocked = True
        elif response.ok:
            fci = parse(response.data)
            # The card may answer with a longer AID (partial name match); use its DF name.
            df_name = first_value(fci, 0x84) or aid
            apps.append(Application(df_name, _priority(fci), index))
    return apps, blocked


def discover_applications(transport: ApduTransport) -> list[Application]:
    """Candidate list: PPSE, else PSE, else the known-AID list; sorted by priority."""
    apps = _from_ppse(transport) or _from_pse(transport)
    if not apps:
        apps, blocked = _from_known_aids(transport)
        if not apps:
            if blocked:
                raise CardBlockedError(detail="SW 6283 on every application")
            raise NotPaymentCardError(detail="no EMV application found")
    return sorted(apps, key=lambda app: app.sort_key)


@dataclass(slots=True)
class _Collected:
    """Tags gathered from the GPO response and records (first occurrence wins)."""

    values: dict[int, bytes]

    def add(self, objs: Sequence[Tlv]) -> None:
        for tag in (0x5A, 0x5F24, 0x5F20, 0x57):
            found = find(objs, tag)
            if found is not None and tag not in self.values:
                self.values[tag] = found.value


def _gpo(transport: ApduTransport, fci: Sequence[Tlv], terminal: TerminalData) -> ResponseApdu:
    pdol = first_value(fci, 0x9F38)
    pdol_data = build_dol_data(parse_dol(pdol), terminal) if pdol else b""
    return exchange(transport, get_processing_options(pdol_data))


def _afl_entries(afl: bytes) -> list[tuple[int, int, int]]:
    if len(afl) % 4:
        raise CardUnreadableError(detail="AFL length is not a multiple of 4")
    entries: list[tuple[int, int, int]] = []
    for i in range(0, len(afl), 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        if not 1 <= sfi <= 30 or first == 0 or last < first:
            raise CardUnreadableError(detail="invalid AFL entry")
        entries.append((sfi, first, last))
    return entries


def _parse_gpo(response: ResponseApdu, collected: _Collected) -> bytes:
    objs = parse(response.data)
    if not objs:
        raise CardUnreadableError(detail="empty GPO response")
    top = objs[0]
    if top.tag == 0x80:  # format 1: AIP (2 bytes) followed by AFL
        if len(top.value) < 2:
            raise CardUnreadableError(detail="GPO format 1 too short")
        return top.value[2:]
    if top.tag == 0x77:  # format 2: TLV-coded, may already carry track 2 etc.
        collected.add(top.children)
        return first_value(top.children, 0x94) or b""
    raise CardUnreadableError(detail=f"unexpected GPO template {top.tag:X}")


def _select_and_read(
    transport: ApduTransport, app: Application, terminal: TerminalData
) -> _Collected | None:
    """Read one application; ``None`` means "try the next candidate"."""
    response = exchange(transport, select_by_name(app.aid))
    _check_blocked_card(response)
    if response.sw == SW_SELECTED_FILE_INVALIDATED:
        raise _ApplicationBlocked
    if not response.ok:
        logger.debug("application not selectable (sw=%04X)", response.sw)
        return None
    gpo = _gpo(transport, parse(response.data), terminal)
    if gpo.sw == SW_CONDITIONS_NOT_SATISFIED:
        logger.debug("GPO refused (6985), trying next application")
        return None
    if not gpo.ok:
        raise CardUnreadableError(detail=f"SW {gpo.sw:04X} on GET PROCESSING OPTIONS")
    collected = _Collected({})
    for sfi, first, last in _afl_entries(_parse_gpo(gpo, collected)):
        for record in range(first, last + 1):
            rec = exchange(transport, read_record(sfi, record))
            if not rec.ok:
                raise CardUnreadableError(detail=f"SW {rec.sw:04X} on READ RECORD")
            collected.add(parse(rec.data))
    return collected


def read_payment_card(transport: ApduTransport, terminal: TerminalData) -> CardData:
    """Run the EMV read flow on a connected card and return its :class:`CardData`.

    Raises :class:`NotPaymentCardError`, :class:`CardBlockedError` or
    :class:`CardUnreadableError` (and whatever the transport raises, e.g.
    :class:`CardRemovedError`).
    """
    apps = discover_applications(transport)
    blocked = False
    for app in apps:
        try:
            collected = _select_and_read(transport, app, terminal)
        except _ApplicationBlocked:
            blocked = True
            continue
        if collected is not None:
            return _card_data(app.aid, collected.values)
    if blocked:
        raise CardBlockedError(detail="SW 6283 selecting application")
    raise NotPaymentCardError(detail="no application accepted GET PROCESSING OPTIONS")


def _nibbles_to_ascii(value: bytes) -> bytearray:
    """BCD nibbles to ASCII digits; ``D`` becomes ``=``; stops at ``F`` padding."""
    out = bytearray()
    for byte in value:
        for nibble in (byte >> 4, byte & 0x0F):
            if nibble == 0x0F:
                return out
            if nibble == 0x0D:
                out.append(0x3D)
            elif nibble <= 9:
                out.append(0x30 + nibble)
            else:
                raise CardUnreadableError(detail="invalid BCD nibble")
    return out


def _two_digits(buf: bytes | bytearray, start: int) -> int:
    chunk = buf[start : start + 2]
    if len(chunk) != 2 or not chunk.isdigit():
        raise CardUnreadableError(detail="invalid date digits")
    return (chunk[0] - 0x30) * 10 + (chunk[1] - 0x30)


def _card_data(aid: bytes, values: dict[int, bytes]) -> CardData:
    track2_raw = values.get(0x57)
    track2 = _nibbles_to_ascii(track2_raw) if track2_raw else None
    sep = track2.find(b"=") if track2 is not None else -1
    if track2 is not None and sep < 0:
        raise CardUnreadableError(detail="track 2 without separator")

    pan_raw = values.get(0x5A)
    if pan_raw:
        pan = _nibbles_to_ascii(pan_raw)
    elif track2 is not None:
        pan = track2[:sep]
    else:
        raise CardUnreadableError(detail="no PAN on card")
    if not 12 <= len(pan) <= 19 or not luhn_valid(pan):
        for buf in (pan, track2):
            if buf is not None:
                buf[:] = bytes(len(buf))
        raise CardUnreadableError(detail="PAN failed validation")

    expiry_raw = values.get(0x5F24)
    if expiry_raw and len(expiry_raw) >= 2:
        yymm = _nibbles_to_ascii(expiry_raw[:2])
    elif track2 is not None:
        yymm = track2[sep + 1 : sep + 5]
    else:
        raise CardUnreadableError(detail="no expiry date on card")
    year, month = 2000 + _two_digits(yymm, 0), _two_digits(yymm, 2)
    if not 1 <= month <= 12:
        raise CardUnreadableError(detail="invalid expiry month")

    name_raw = values.get(0x5F20)
    name = name_raw.decode("ascii", "replace").strip() if name_raw else ""
    # Contactless cards often personalise "/" or blanks instead of a real name.
    cardholder = name if name.strip(" /") else None

    return CardData(
        pan=pan,
        expiry_year=year,
        expiry_month=month,
        brand=brand_for_aid(aid),
        aid=aid,
        cardholder_name=cardholder,
        track2=track2,
    )
