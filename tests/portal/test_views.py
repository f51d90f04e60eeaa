"""The public receipt check the QR code leads to: genuine, or a plain "cannot verify"."""

from __future__ import annotations

import pytest

from shared.receipts.numbering import signature
from tests.portal.conftest import Portal
from tests.portal.test_status import Paid, browser, pay_cash

CANNOT = "We cannot confirm receipt"


def _signature(portal: Portal, paid: Paid) -> str:
    return signature(portal.runtime.settings.secret_key, paid.receipt_number, 1_234)


def test_the_qr_link_says_the_receipt_is_genuine(portal: Portal) -> None:
    paid = pay_cash(portal, 1_234)
    sig = _signature(portal, paid)
    page = browser(portal).get(f"/verify/{paid.receipt_number}", params={"s": sig})
    assert page.status_code == 200
    assert f"Receipt {paid.receipt_number} is genuine." in page.text


@pytest.mark.parametrize(
    "given",
    ["é", "\u00e9" * 20, "\U0001f600", "s p a c e", "x" * 5_000, "%", "", "AAAA\u200b"],
    ids=["accent", "accents", "emoji", "spaces", "long", "percent", "empty", "zero-width"],
)
def test_a_malformed_signature_cannot_be_verified(portal: Portal, given: str) -> None:
    paid = pay_cash(portal, 1_234)
    page = browser(portal).get(f"/verify/{paid.receipt_number}", params={"s": given})
    assert page.status_code == 404
    assert CANNOT in page.text
    assert "is genuine" not in page.text
