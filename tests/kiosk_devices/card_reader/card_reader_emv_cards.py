"""EMV card behaviours for the vpcd virtual card (test data: public sandbox PANs only).

TLV is built here by hand, independently of the package's encoder, so a bug shared by
the package's parser and encoder cannot hide itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ATR_T1 = bytes.fromhex("3B8E800180318066B0840C016E01830090001D")
ATR_T0 = bytes.fromhex("3B021450")

PPSE = b"2PAY.SYS.DDF01"
PSE = b"1PAY.SYS.DDF01"
SW_OK = b"\x90\x00"
SW_NOT_FOUND = b"\x6a\x82"
SW_RECORD_NOT_FOUND = b"\x6a\x83"

# PDOL asking for everything the terminal knows, plus two tags it does not know
# (9F35 terminal type, DF01 proprietary) which must come back zero-filled.
FULL_PDOL = bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F37049F3501DF0103")


def tlv(tag: str, *parts: bytes) -> bytes:
    """Encode one data object; ``tag`` in hex."""
    value = b"".join(parts)
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    elif n < 0x100:
        length = bytes((0x81, n))
    else:
        length = b"\x82" + n.to_bytes(2, "big")
    return bytes.fromhex(tag) + length + value


def bcd(digits: str) -> bytes:
    """Digits (and D separators) as BCD nibbles, F-padded to whole bytes."""
    return bytes.fromhex(digits + ("F" if len(digits) % 2 else ""))


def dol_length(dol: bytes) -> int:
    """Total value length a DOL asks for (tags here are 1 or 2 bytes, lengths 1 byte)."""
    total, pos = 0, 0
    while pos < len(dol):
        pos += 2 if dol[pos] & 0x1F == 0x1F else 1
        total += dol[pos]
        pos += 1
    return total


@dataclass
class EmvApp:
    """One payment application on the card."""

    aid: bytes
    pan: str
    expiry_yymm: str
    cardholder: str
    brand: str
    priority: int | None = None
    label: str = "CREDIT"
    pdol: bytes = b""
    gpo_format: int = 1
    include_pan_tag: bool = True
    include_expiry_tag: bool = True

    @property
    def track2(self) -> str:
        return f"{self.pan}={self.expiry_yymm}2010000000000000"

    def records(self) -> dict[tuple[int, int], bytes]:
        track2 = bcd(self.track2.replace("=", "D"))
        sfi1 = tlv("70", tlv("57", track2), tlv("5F20", self.cardholder.encode()))
        rec2 = [tlv("5F25", bytes.fromhex("200101")), tlv("9F07", b"\xff\x00")]
        if self.include_pan_tag:
            rec2.insert(0, tlv("5A", bcd(self.pan)))
        if self.include_expiry_tag:
            rec2.insert(0, tlv("5F24", bytes.fromhex(self.expiry_yymm + "31")))
        sfi2_1 = tlv("70", *rec2)
        # Padding after the template is legal and real cards do it.
        sfi2_2 = (
            tlv("70", tlv("8C", bytes.fromhex("9F02069F03069F1A02")), tlv("8E", bytes(8)))
            + b"\x00\x00"
        )
        return {(1, 1): sfi1, (2, 1): sfi2_1, (2, 2): sfi2_2}

    # AFL: SFI 1 record 1; SFI 2 records 1-2 (one for offline authentication).
    afl = bytes.fromhex("0801010010010201")


@dataclass
class EmvCardProfile:
    """A whole card: ATR, applications and the quirks it exhibits."""

    name: str
    atr: bytes
    apps: list[EmvApp]
    ppse: bool = True
    pse: bool = False
    t0: bool = False  # T=0 behaviour: 61xx after case 3/4, 6Cxx when Le is not exact
    chain_61: bool = False  # T=1 card that still hands data out via GET RESPONSE
    wrong_le: bool = False  # 6Cxx to READ RECORD with Le=00
    vanish_on_read_record: bool = False
    # Stops answering at READ RECORD (still inserted, still powered) until released.
    hang_on_read_record: bool = False
    app_select_sw: bytes | None = None
    ppse_select_sw: bytes | None = None

    @property
    def expected(self) -> EmvApp:
        """The app a correct terminal picks (lowest priority number)."""
        return min(self.apps, key=lambda a: a.priority or 16)


def _fci_directory_entry(app: EmvApp) -> bytes:
    parts = [tlv("4F", app.aid), tlv("50", app.label.encode())]
    if app.priority is not None:
        parts.append(tlv("87", bytes((app.priority,))))
    return tlv("61", *parts)


@dataclass
class EmvCardEmulator:
    """APDU responder implementing a profile; records what the terminal sent."""

    profile: EmvCardProfile
    gpo_data: list[bytes] = field(default_factory=list)
    _selected: EmvApp | None = None
    _pse_selected: bool = False
    _pending: bytes = b""
    _pending_sw: bytes = SW_OK
    # For hang_on_read_record: set once the card is stuck, and set by the test to let go.
    stuck: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __call__(self, apdu: bytes) -> bytes | None:
        ins = apdu[1]
        lc = apdu[4] if len(apdu) > 5 else 0
        data = apdu[5 : 5 + lc]
        if len(apdu) == 5:
            case, le = 2, apdu[4] or 256
        elif len(apdu) == 4:
            case, le = 1, 0
        elif len(apdu) == 5 + lc:
            case, le = 3, 0
        else:
            case, le = 4, apdu[-1] or 256
        if ins == 0xC0:
            return self._get_response(le)
        self._pending = b""
        if self.profile.t0 and case == 4:
            return b"\x67\x00"  # a T=0 card never sees Le on a case-4 command
        result = self._process(apdu, data)
        if result is None:
            return None
        body, sw = result
        return self._deliver(body, sw, case, le, ins)

    def _deliver(self, body: bytes, sw: bytes, case: int, le: int, ins: int) -> bytes:
        p = self.profile
        if not body:
            return sw
        if p.chain_61 or (p.t0 and case in (3, 4)):
            self._pending, self._pending_sw = body, sw
            return bytes((0x61, min(len(body), 16 if p.chain_61 else 256) & 0xFF))
        if case == 2 and le != len(body) and (p.t0 or (p.wrong_le and ins == 0xB2)):
            return bytes((0x6C, len(body) & 0xFF))
        return body[:le] + sw if case in (2, 4) else body + sw

    def _get_response(self, le: int) -> bytes:
        if not self._pending:
            return b"\x69\x85"
        if self.profile.t0 and le > len(self._pending):
            return bytes((0x6C, len(self._pending)))
        chunk, self._pending = self._pending[:le], self._pending[le:]
        if self._pending:
            step = 16 if self.profile.chain_61 else 256
            return chunk + bytes((0x61, min(len(self._pending), step) & 0xFF))
        return chunk + self._pending_sw

    def _process(self, apdu: bytes, data: bytes) -> tuple[bytes, bytes] | None:
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        if ins == 0xA4 and p1 == 0x04:
            return self._select(data)
        if ins == 0xA8:
            return self._gpo(data)
        if ins == 0xB2:
            return self._read_record(p1, p2 >> 3)
        return b"", b"\x6d\x00"

    def _select(self, name: bytes) -> tuple[bytes, bytes]:
        p = self.profile
        self._selected, self._pse_selected = None, False
        if name == PPSE:
            if p.ppse_select_sw is not None:
                return b"", p.ppse_select_sw
            if not p.ppse:
                return b"", SW_NOT_FOUND
            entries = b"".join(_fci_directory_entry(a) for a in p.apps)
            return tlv("6F", tlv("84", PPSE), tlv("A5", tlv("BF0C", entries))), SW_OK
        if name == PSE:
            if not p.pse:
                return b"", SW_NOT_FOUND
            self._pse_selected = True
            return tlv(
                "6F", tlv("84", PSE), tlv("A5", tlv("88", b"\x01"), tlv("5F2D", b"en"))
            ), SW_OK
        # Partial selection: SELECT A00000002501 finds A000000025010801.
        app = next((a for a in p.apps if a.aid.startswith(name)), None)
        if app is None:
            return b"", SW_NOT_FOUND
        if p.app_select_sw is not None:
            return b"", p.app_select_sw
        self._selected = app
        prop = [tlv("50", app.label.encode())]
        if app.priority is not None:
            prop.append(tlv("87", bytes((app.priority,))))
        if app.pdol:
            prop.append(tlv("9F38", app.pdol))
        return tlv("6F", tlv("84", app.aid), tlv("A5", *prop)), SW_OK

    def _gpo(self, data: bytes) -> tuple[bytes, bytes]:
        app = self._selected
        if app is None:
            return b"", b"\x69\x85"
        if data[:1] != b"\x83" or data[1] != len(data) - 2 or data[1] != dol_length(app.pdol):
            return b"", b"\x67\x00"
        self.gpo_data.append(bytes(data[2:]))
        aip = b"\x19\x80"
        if app.gpo_format == 2:
            return tlv("77", tlv("82", aip), tlv("94", app.afl)), SW_OK
        return tlv("80", aip + app.afl), SW_OK

    def _read_record(self, record: int, sfi: int) -> tuple[bytes, bytes] | None:
        p = self.profile
        if self._pse_selected and sfi == 1:
            if record == 1:
                return tlv("70", *(_fci_directory_entry(a) for a in p.apps)), SW_OK
            return b"", SW_RECORD_NOT_FOUND
        if self._selected is None:
            return b"", b"\x69\x85"
        if p.vanish_on_read_record:
            return None
        if p.hang_on_read_record:
            self.stuck.set()
            # Bounded so a forgotten release never outlives the test session by much.
            self.release.wait(timeout=120)
            return None
        body = self._selected.records().get((sfi, record))
        return (body, SW_OK) if body is not None else (b"", SW_RECORD_NOT_FOUND)


VISA = bytes.fromhex("A0000000031010")
VISA_ELECTRON = bytes.fromhex("A0000000032010")
MASTERCARD = bytes.fromhex("A0000000041010")
AMEX_FULL = bytes.fromhex("A000000025010801")
DISCOVER = bytes.fromhex("A0000001523010")


def _visa(pan: str = "4761739001010010", **kw: object) -> EmvApp:
    return EmvApp(VISA, pan, "3012", "CARDHOLDER/VISA", "visa", **kw)  # type: ignore[arg-type]


PROFILES: dict[str, EmvCardProfile] = {
    p.name: p
    for p in [
        # Visa over T=1 with PPSE, a PDOL, and a lower-priority Visa Electron listed first.
        EmvCardProfile(
            "visa_t1_ppse_pdol",
            ATR_T1,
            [
                EmvApp(
                    VISA_ELECTRON,
                    "4000056655665556",
                    "2901",
                    "OTHER/APP",
                    "visa_electron",
                    priority=2,
                    label="ELECTRON",
                ),
                _visa(priority=1, pdol=FULL_PDOL),
            ],
        ),
        EmvCardProfile(
            "mastercard_no_pdol",
            ATR_T1,
            [
                EmvApp(
                    MASTERCARD,
                    "5555555555554444",
                    "2807",
                    "CARDHOLDER/MC",
                    "mastercard",
                    priority=1,
                    gpo_format=2,
                )
            ],
        ),
        # Neither PPSE nor PSE: found by the known-AID list via partial selection.
        EmvCardProfile(
            "amex_aid_fallback",
            ATR_T1,
            [EmvApp(AMEX_FULL, "378282246310005", "2704", "CARDHOLDER/AMEX", "amex")],
            ppse=False,
        ),
        # T=0 contact card with only a PSE: exercises 61xx and 6Cxx the T=0 way.
        EmvCardProfile(
            "visa_t0_pse",
            ATR_T0,
            [_visa("4242424242424242", priority=1, pdol=FULL_PDOL)],
            ppse=False,
            pse=True,
            t0=True,
        ),
        EmvCardProfile(
            "mastercard_get_response",
            ATR_T1,
            [EmvApp(MASTERCARD, "5413330089010434", "2912", "CARDHOLDER/CHAIN", "mastercard")],
            chain_61=True,
        ),
        # Answers 6Cxx to READ RECORD; PAN and expiry only inside track 2 (tag 57).
        EmvCardProfile(
            "visa_wrong_le_track2_only",
            ATR_T1,
            [_visa("4111111111111111", include_pan_tag=False, include_expiry_tag=False)],
            wrong_le=True,
        ),
        EmvCardProfile(
            "discover_removed_mid_read",
            ATR_T1,
            [EmvApp(DISCOVER, "6011111111111117", "2803", "CARDHOLDER/DISC", "discover")],
            vanish_on_read_record=True,
        ),
        # Answers selection and GPO, then goes quiet mid-command until pulled out.
        EmvCardProfile(
            "visa_stops_answering",
            ATR_T1,
            [_visa("4000000000000002", priority=1)],
            hang_on_read_record=True,
        ),
        EmvCardProfile("visa_blocked", ATR_T1, [_visa()], app_select_sw=b"\x62\x83"),
        EmvCardProfile("card_blocked_6a81", ATR_T1, [_visa()], ppse_select_sw=b"\x6a\x81"),
        EmvCardProfile("not_payment", ATR_T1, [], ppse=False),
    ]
}

READABLE = [
    "visa_t1_ppse_pdol",
    "mastercard_no_pdol",
    "amex_aid_fallback",
    "visa_t0_pse",
    "mastercard_get_response",
    "visa_wrong_le_track2_only",
]
