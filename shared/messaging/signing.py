"""The signature Paydesk puts on what it sends to other systems (write-backs, balance
pulls, webhooks): `Paydesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

A receiver recomputes v1 with the secret it shares with us from t and the raw body, in
constant time, and refuses a t far from its clock: a captured request cannot be replayed
later, and t being signed too, a fresh t cannot be put on an old body.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Paydesk-Signature"


def signature(secret: str, body: bytes, at: int) -> str:
    """The signature header's value for `body` sent at unix time `at`."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"
