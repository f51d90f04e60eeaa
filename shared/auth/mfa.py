"""TOTP second factor (RFC 6238, 30-second steps) and its enrolment QR code.

A code is good once: `matching_step` says which time step a code belongs to, and the
sign-in keeps the last step accepted (`StaffUser.mfa_last_step`) so the same code, or an
older one, is refused afterwards (RFC 6238 §5.2).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterable
from fnmatch import fnmatchcase

import pyotp
import segno
from markupsafe import Markup

STEP_SECONDS = 30
# One step either side: a phone clock a little off still works.
VALID_WINDOW = 1


def new_secret() -> str:
    return str(pyotp.random_base32())


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer))


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG: no style attributes, so the strict CSP allows it."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, svgclass="qr-code", omitsize=True)
    return Markup(svg)  # noqa: S704 - segno's own markup, no user input in it


def current_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step `code` is the code of, within the drift window; None if none is.

    When two steps share a code (one chance in a million), the later one counts, so a
    code is never mistaken for one already used.
    """
    code = "".join(code.split())
    # ASCII digits only: "¹²³⁴⁵⁶" passes isdigit, and compare_digest refuses non-ASCII text.
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = current_step(now)
    for step in range(current + VALID_WINDOW, current - VALID_WINDOW - 1, -1):
        if hmac.compare_digest(code, totp.generate_otp(step)):
            return step
    return None


def required(permissions: Iterable[str], patterns: Iterable[str]) -> bool:
    """Whether holding these permissions means a second factor is needed to sign in: any
    matches one of `patterns` ("admin:*", "*:approve", "payments:take")."""
    patterns = tuple(patterns)
    return any(fnmatchcase(code, pattern) for code in permissions for pattern in patterns)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an authenticator app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
