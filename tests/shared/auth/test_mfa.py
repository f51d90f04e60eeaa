from __future__ import annotations

import datetime as dt

import pyotp

from shared.auth import mfa


def test_a_code_belongs_to_its_step_one_step_either_side() -> None:
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = dt.datetime(2026, 11, 26, 12, 0, 10, tzinfo=dt.UTC)
    step = mfa.current_step(now)
    assert step == int(now.timestamp()) // 30
    assert mfa.matching_step(secret, totp.generate_otp(step), now) == step
    spaced = totp.generate_otp(step)[:3] + " " + totp.generate_otp(step)[3:]
    assert mfa.matching_step(secret, spaced, now) == step
    assert mfa.matching_step(secret, totp.generate_otp(step - 1), now) == step - 1
    assert mfa.matching_step(secret, totp.generate_otp(step + 1), now) == step + 1
    assert mfa.matching_step(secret, totp.generate_otp(step - 2), now) is None
    assert mfa.matching_step(secret, totp.generate_otp(step + 2), now) is None
    assert mfa.matching_step(secret, "", now) is None
    assert mfa.matching_step(secret, "12345a", now) is None
    # Digits to isdigit, but not ASCII: refused as a wrong code, not a crash.
    assert mfa.matching_step(secret, "\u00b9\u00b2\u00b3\u2074\u2075\u2076", now) is None
    assert mfa.matching_step(secret, "\uff11\uff12\uff13\uff14\uff15\uff16", now) is None


def test_qr_code_has_no_style_attribute() -> None:
    svg = str(mfa.qr_svg(mfa.provisioning_uri(mfa.new_secret(), "j.smith", "Riverton")))
    assert svg.startswith("<svg") and "style" not in svg


def test_required_by_permissions_matching_the_patterns() -> None:
    patterns = ("admin:*", "*:approve", "payments:take")
    assert mfa.required({"customers:view", "admin:users"}, patterns)
    assert mfa.required({"refunds:approve"}, patterns)
    assert mfa.required({"payments:take"}, patterns)
    assert not mfa.required({"customers:view", "refunds:request", "payments:view"}, patterns)
    assert not mfa.required({"admin:users"}, ())
    assert mfa.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
