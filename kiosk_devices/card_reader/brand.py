"""Card brands and the EMV application identifiers (AIDs) that announce them."""

from __future__ import annotations

from enum import StrEnum


class CardBrand(StrEnum):
    """Payment scheme, derived from the AID the card's application was selected by."""

    VISA = "visa"
    VISA_ELECTRON = "visa_electron"
    MASTERCARD = "mastercard"
    MAESTRO = "maestro"
    AMEX = "amex"
    DISCOVER = "discover"
    INTERAC = "interac"
    UNKNOWN = "unknown"


# Order matters: it is the order in which the AID fallback (cards with neither PPSE nor
# PSE) tries them, most common first so a typical card answers on the first SELECT.
KNOWN_AIDS: tuple[tuple[bytes, CardBrand], ...] = (
    (bytes.fromhex("A0000000031010"), CardBrand.VISA),
    (bytes.fromhex("A0000000041010"), CardBrand.MASTERCARD),
    (bytes.fromhex("A00000002501"), CardBrand.AMEX),
    (bytes.fromhex("A0000001523010"), CardBrand.DISCOVER),
    (bytes.fromhex("A0000002771010"), CardBrand.INTERAC),
    (bytes.fromhex("A0000000043060"), CardBrand.MAESTRO),
    (bytes.fromhex("A0000000032010"), CardBrand.VISA_ELECTRON),
)

# Registered application provider IDs (first five AID bytes): lets us name the scheme of
# an application we do not list explicitly (e.g. Visa V PAY A0000000032020).
_RID_BRANDS: dict[bytes, CardBrand] = {
    bytes.fromhex("A000000003"): CardBrand.VISA,
    bytes.fromhex("A000000004"): CardBrand.MASTERCARD,
    bytes.fromhex("A000000025"): CardBrand.AMEX,
    bytes.fromhex("A000000152"): CardBrand.DISCOVER,
    bytes.fromhex("A000000277"): CardBrand.INTERAC,
}


def brand_for_aid(aid: bytes) -> CardBrand:
    """Brand of an application: exact/prefix match on known AIDs, then by RID."""
    for known, brand in KNOWN_AIDS:
        # Amex issues AIDs with suffixes (A00000002501 + 0801…), so match by prefix.
        if aid.startswith(known):
            return brand
    return _RID_BRANDS.get(bytes(aid[:5]), CardBrand.UNKNOWN)
