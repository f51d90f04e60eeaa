"""A kiosk shows and charges what the billing system says, like the portal: its look-up
asks the system first, and a payment the system just contradicted is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from shared.config import WriteBackTarget
from shared.db import utcnow
from shared.models import Account, BalanceSourceSetting, Payment, SourceMode
from tests.integrations.api.conftest import Api
from tests.integrations.api.test_kiosk_api import _lookup, _pay, _resident
from tests.support.apps import runtime_on_fresh_database
from tests.support.pull_source import PullSource, bill

SYSTEM = "utility-billing"
SECRET = "kiosk-pull-secret"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pulled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    with runtime_on_fresh_database(
        request.param,
        tmp_path_factory.mktemp("kiosk-pull"),
        secret_key="kiosk-pull-tests",
        balance_max_age_seconds=0,
        write_back_targets=(WriteBackTarget(SYSTEM, "http://127.0.0.1:9/unused", SECRET),),
    ) as runtime:
        yield Api(runtime, runtime.factory)


def test_the_kiosk_shows_the_systems_balance_and_refuses_what_it_contradicts(
    pulled: Api,
) -> None:
    number, code, (invoice,) = _resident(pulled, (10_000,))
    with PullSource(SECRET) as source, pulled.client() as client:
        with pulled.factory() as db:
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
        kiosk = pulled.kiosk(client)
        source.books[number] = [bill(invoice, 4_250)]

        found = _lookup(client, kiosk, number, code)

        assert [b["payable_minor"] for b in found["bills"]] == [4_250]
        # Paid elsewhere between the look-up and the card: refused, nothing charged.
        source.books[number] = [bill(invoice, 0)]
        refused = _pay(client, kiosk, found["basket_token"], [{"invoice_number": invoice}], "pe-1")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "refused"
        assert "paid elsewhere" in refused.json()["message"]
        with pulled.factory() as db:
            assert db.scalars(select(Payment).where(Payment.idempotency_key == "pe-1")).all() == []
