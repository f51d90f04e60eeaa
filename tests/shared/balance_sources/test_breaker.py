"""The circuit breaker: a system failing again and again is left alone, then tried again."""

from __future__ import annotations

from shared.balance_sources.breaker import Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_system_rests_then_one_request_tries_it_again() -> None:
    clock = Clock()
    breaker = Breaker(failures=3, rest_seconds=30, clock=clock)
    for _ in range(3):
        assert breaker.allows("tax")
        breaker.failed("tax")
    assert not breaker.allows("tax")
    assert breaker.allows("water")  # each system has its own
    clock.now += 31
    assert breaker.allows("tax")  # one request tries it
    assert not breaker.allows("tax")  # the others wait for its answer
    breaker.failed("tax")
    assert not breaker.allows("tax")  # failed again: another rest
    clock.now += 31
    assert breaker.allows("tax")
    breaker.succeeded("tax")
    assert breaker.allows("tax") and breaker.allows("tax")
    assert not breaker.is_open("tax")


def test_a_success_between_failures_starts_the_count_again() -> None:
    breaker = Breaker(failures=2, rest_seconds=30, clock=Clock())
    breaker.failed("tax")
    breaker.succeeded("tax")
    breaker.failed("tax")
    assert breaker.allows("tax")
