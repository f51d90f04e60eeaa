"""Pulling an account's bills from a source system's HTTP JSON endpoint (the "pull
contract", given in full in the README's "Integrating a system"):

    POST <the system's URL, set in the staff console>
    Content-Type: application/json
    Paydesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

    {"account_number": "U-100200"}

    200 {"account_number": "U-100200", "as_of": "2026-12-08T09:30:00Z",
         "bills": [{"invoice_number": "UB-2026-11-0042", "amount_due": 8450, "owing": 8450,
                    "fee_type": "water", "description": "Water — November",
                    "due_date": "2026-12-31"}]}
    404 the system does not know the account
    anything else, no answer within the timeout, or a body not like the above: unavailable

The secret is the one the system shares with Paydesk for write-backs. Every failure is a
`SourceUnavailable` with a reason in words; nothing else escapes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import httpx

from shared.balance_sources.protocol import (
    SourceBill,
    SourceUnavailable,
    Statement,
    UnknownAccount,
)
from shared.messaging.signing import SIGNATURE_HEADER, signature

# An answer is a few bills; a body far bigger is not one.
MAX_ANSWER_BYTES = 256 * 1024
MAX_AMOUNT = 10**13


class HttpJsonSource:
    def __init__(self, system: str, url: str, secret: str, timeout_seconds: float) -> None:
        self.system, self.url, self.secret = system, url, secret
        self.timeout = httpx.Timeout(timeout_seconds)

    def statement(self, account_number: str) -> Statement:
        body = json.dumps({"account_number": account_number}, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            SIGNATURE_HEADER: signature(self.secret, body, int(time.time())),
        }
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise SourceUnavailable(f"{self.system} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{self.system} could not be reached ({exc})") from None
        if answer.status_code == 404:
            raise UnknownAccount(f"{self.system} does not know account {account_number}")
        if answer.status_code != 200:
            raise SourceUnavailable(f"{self.system} answered HTTP {answer.status_code}")
        if len(answer.content) > MAX_ANSWER_BYTES:
            raise SourceUnavailable(f"{self.system} answered with too much")
        try:
            return parse(answer.content, account_number)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise SourceUnavailable(f"{self.system} answered something unexpected: {exc}") from None


def _amount(value: Any, name: str) -> int:
    # bool is an int in Python; a JSON true is not an amount.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_AMOUNT:
        raise ValueError(f"{name} must be a whole number of minor units, not {value!r}")
    return value


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"{name} must be text of at most {limit} characters")
    return value.strip()


def parse(raw: bytes, account_number: str) -> Statement:
    """The statement a pull answer holds; ValueError when it is not one for this account."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    if data.get("account_number") != account_number:
        raise ValueError("the answer is for another account")
    as_of = dt.datetime.fromisoformat(str(data["as_of"]))
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry its time zone")
    raw_bills = data["bills"]
    if not isinstance(raw_bills, list):
        raise ValueError("bills must be a list")
    bills = []
    for item in raw_bills:
        if not isinstance(item, dict):
            raise ValueError("each bill must be an object")
        number = _text(item.get("invoice_number"), "invoice_number", 64, required=True)
        assert number is not None
        due = item.get("due_date")
        bills.append(
            SourceBill(
                number,
                _amount(item.get("owing"), "owing"),
                _amount(item.get("amount_due", item.get("owing")), "amount_due"),
                _text(item.get("fee_type"), "fee_type", 64),
                _text(item.get("description"), "description", 400),
                None if due is None else dt.date.fromisoformat(str(due)),
            )
        )
    if len({b.invoice_number for b in bills}) != len(bills):
        raise ValueError("a bill is listed twice")
    return Statement(account_number, as_of.astimezone(dt.UTC), tuple(bills))
