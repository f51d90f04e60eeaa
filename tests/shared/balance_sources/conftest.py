from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.balance_sources.refreshing import Refresher
from tests.shared.balance_sources.helpers import SECRET, settings
from tests.support.pull_source import PullSource


@pytest.fixture
def source() -> Iterator[PullSource]:
    with PullSource(SECRET) as running:
        yield running


@pytest.fixture
def refresher() -> Iterator[Refresher]:
    made = Refresher(settings())
    yield made
    made.close()
