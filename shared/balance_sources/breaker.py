"""A circuit breaker per source system: one that failed `failures` times in a row is not
asked for `rest` seconds (its accounts show their last known balance at once, instead of
each page waiting for the timeout), then one request is let through to try it again.

The state lives in this process (a dict behind a lock), shared by every request the
process serves; each server process learns on its own that a system is down, which
costs at most `failures` timed-out requests per process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    trying: bool = False


class Breaker:
    def __init__(
        self, failures: int, rest_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures, self.rest, self.clock = max(failures, 1), rest_seconds, clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def allows(self, system: str) -> bool:
        """Whether to ask `system` now. When open, after its rest one caller is let through
        (half-open); the others keep being refused until that one's answer is known."""
        with self._lock:
            state = self._states.setdefault(system, _State())
            if state.failures < self.failures:
                return True
            if state.trying or self.clock() < state.open_until:
                return False
            state.trying = True
            return True

    def succeeded(self, system: str) -> None:
        with self._lock:
            self._states[system] = _State()

    def failed(self, system: str) -> None:
        with self._lock:
            state = self._states.setdefault(system, _State())
            state.failures += 1
            state.trying = False
            if state.failures >= self.failures:
                state.open_until = self.clock() + self.rest

    def is_open(self, system: str) -> bool:
        with self._lock:
            state = self._states.get(system)
            return state is not None and state.failures >= self.failures
