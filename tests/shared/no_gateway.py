"""A gateway for cash and cheque tests: it must never be called."""

from __future__ import annotations

from typing import Any


class NoGateway:
    name = "none"

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the gateway was called ({attribute}) for a non-card payment")
