from __future__ import annotations

import time

import pyotp

from shared.auth import mfa


def test_codes_one_step_either_side_are_accepted() -> None:
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = time.time()
    assert mfa.verify(secret, totp.at(now))
    assert mfa.verify(secret, " ".join([totp.at(now)[:3], totp.at(now)[3:]]))
    assert mfa.verify(secret, totp.at(now - 30))
    assert not mfa.verify(secret, totp.at(now - 120))
    assert not mfa.verify(secret, "")
    assert not mfa.verify(secret, "12345a")


def test_qr_code_has_no_style_attribute() -> None:
    svg = str(mfa.qr_svg(mfa.provisioning_uri(mfa.new_secret(), "j.smith", "Riverton")))
    assert svg.startswith("<svg") and "style" not in svg


def test_required_roles() -> None:
    assert mfa.required({"agent", "admin"}, ("supervisor", "admin"))
    assert not mfa.required({"agent"}, ("supervisor", "admin"))
    assert mfa.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
