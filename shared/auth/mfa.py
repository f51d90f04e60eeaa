"""TOTP second factor (RFC 6238, 30-second steps) and its enrolment QR code."""

from __future__ import annotations

from collections.abc import Iterable

import pyotp
import segno
from markupsafe import Markup

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


def verify(secret: str, code: str) -> bool:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return False
    return bool(pyotp.TOTP(secret).verify(code, valid_window=VALID_WINDOW))


def required(role_names: Iterable[str], required_roles: Iterable[str]) -> bool:
    """Whether holding these roles means a code is needed to sign in."""
    return not set(role_names).isdisjoint(required_roles)


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an authenticator app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
