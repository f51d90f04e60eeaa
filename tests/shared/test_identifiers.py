"""References as people read them out: normalised, or refused for their shape."""

from __future__ import annotations

import pytest

from shared.identifiers import LookupInputError, normalize_reference


@pytest.mark.parametrize(
    ("typed", "reference"),
    [
        ("r-2026-000042", "R-2026-000042"),
        (" R 2026 000042 ", "R-2026-000042"),
        ("r-2026-1000000", "R-2026-1000000"),
        ("tx-4k7q-2m9x-d4hj", "TX-4K7Q-2M9X-D4HJ"),
        ("TX 4K7Q2M9XD4HJ", "TX-4K7Q-2M9X-D4HJ"),
        ("TX-4K7Q-2M9X-D4HO", "TX-4K7Q-2M9X-D4H0"),
    ],
)
def test_references_are_normalised(typed: str, reference: str) -> None:
    assert normalize_reference(typed) == reference


@pytest.mark.parametrize(
    "typed", ["", "hello", "R-26-1", "R-2026-12345", "TX-1234", "INV-2026-000001"]
)
def test_other_shapes_are_input_errors(typed: str) -> None:
    with pytest.raises(LookupInputError):
        normalize_reference(typed)
