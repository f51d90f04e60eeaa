"""The portal's bills when their system is pulled from: what the system says is shown,
and when it does not answer, the last balance with words a resident understands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from shared.config import WriteBackTarget
from shared.db import utcnow
from shared.models import Account, BalanceSourceSetting, SourceMode
from tests.portal.conftest import Portal
from tests.portal.test_find import find, make_account
from tests.support.apps import runtime_on_fresh_database
from tests.support.pull_source import PullSource, bill

SYSTEM = "utility-billing"
SECRET = "portal-pull-secret"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    tmp = tmp_path_factory.mktemp("portal-pull")
    with runtime_on_fresh_database(
        request.param,
        tmp,
        secret_key="portal-pull-tests",
        balance_max_age_seconds=0,
        write_back_targets=(WriteBackTarget(SYSTEM, "http://127.0.0.1:9/unused", SECRET),),
    ) as runtime:
        yield Portal(runtime, runtime.factory, runtime.settings.var_dir / "mail")


def test_the_bills_page_shows_the_system_s_balance_or_says_it_could_not_check(
    portal: Portal,
) -> None:
    number, (invoice,) = make_account(portal, (10_000,), department="Water")
    with PullSource(SECRET) as source, portal.factory() as db:
        account = db.scalars(select(Account).where(Account.account_number == number)).one()
        account.source_system = SYSTEM
        db.add(
            BalanceSourceSetting(
                system=SYSTEM,
                mode=SourceMode.PULL,
                url=source.url,
                timeout_ms=500,
                updated_by="test",
                updated_at=utcnow(),
            )
        )
        db.commit()
        source.books[number] = [bill(invoice, 4_250)]
        client = portal.client()
        assert find(client, number, "4821").status_code == 303
        page = client.get("/basket")
        assert page.status_code == 200
        assert "$42.50" in page.text and "$100.00" not in page.text
        assert "could not check this balance" not in page.text
        source.status = 503
        down = client.get("/basket")
        assert down.status_code == 200
        assert "$42.50" in down.text
        assert "We could not check this balance with the billing system just now." in down.text
