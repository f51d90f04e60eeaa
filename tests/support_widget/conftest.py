"""The help widget through the real app: middleware, the sandbox processor, the outbox.

`widget` is one app per backend per module. Every browser (`browser()`) has a client
address of its own, so rate limits counted per address never leak between tests."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from paydesk.runtime import Runtime
from shared.actors import Actor, ActorType
from shared.context_ref import sign_context
from shared.gateway.sandbox.cards import Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import Channel, Payment, Tender
from shared.payments.taking import Item, PaymentRequest, take_payment
from tests import factories
from tests.shared.sandbox import token
from tests.support.apps import BASE_URL, runtime_on_fresh_database

EMBEDDER = "https://www.riverton.example"
_addresses = itertools.count(1)
CITIZEN = Actor(ActorType.CITIZEN, "portal-session")


@dataclass
class Widget:
    runtime: Runtime
    factory: sessionmaker[Session]

    def browser(self) -> TestClient:
        """A new browser, from an address of its own."""
        address = f"198.51.100.{next(_addresses) % 250 + 1}"
        return TestClient(
            asgi(create_app(self.runtime)),
            base_url=BASE_URL,
            follow_redirects=False,
            client=(address, 40000),
        )

    def ctx(self, kind: str, ident: str, **where: object) -> str:
        return sign_context(self.runtime.settings.secret_key, kind, ident, **where)  # type: ignore[arg-type]

    @property
    def sandbox(self) -> SandboxGateway:
        gateway = self.runtime.gateway
        assert isinstance(gateway, SandboxGateway)
        return gateway


@dataclass(frozen=True)
class Paid:
    transaction_id: str
    receipt_number: str | None
    customer_id: int | None
    department_id: int


def pay(
    widget: Widget,
    behaviour: Behaviour | None = None,
    email: str | None = "jane.payer@example.com",
    source_system: str = "local",
) -> Paid:
    """A bill paid in cash (`behaviour` None) or by card through the sandbox processor."""
    with widget.factory() as db:
        (bill,) = factories.bills(db, [4_200])
        bill.account.source_system = source_system
        db.commit()
        request = PaymentRequest(
            items=(Item(bill.invoice_number),),
            tender=Tender.CARD if behaviour else Tender.CASH,
            channel=Channel.PORTAL if behaviour else Channel.COUNTER,
            idempotency_key=str(uuid.uuid4()),
            currency="CAD",
            cash_tendered=None if behaviour else 4_200,
            card_token=token(widget.sandbox, behaviour) if behaviour else None,
            payer_email=email,
        )
        outcome = take_payment(db, widget.sandbox, request, CITIZEN)
        payment = db.get(Payment, outcome.payment.id)
        assert payment is not None
        return Paid(
            payment.transaction_id,
            outcome.receipt.receipt_number if outcome.receipt else None,
            payment.customer_id,
            bill.account.department_id,
        )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def widget(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Widget]:
    tmp = tmp_path_factory.mktemp("widget")
    with runtime_on_fresh_database(
        request.param,
        tmp,
        secret_key="widget-tests",
        widget_origins=(EMBEDDER,),
        timezone="UTC",
    ) as runtime:
        yield Widget(runtime, runtime.factory)


@pytest.fixture
def browser(widget: Widget) -> TestClient:
    return widget.browser()


_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
HX = {"HX-Request": "true"}


def form_token(html: str) -> str:
    match = _FORM_TOKEN.search(html)
    assert match, "the screen has no form"
    return match.group(1)


def without_form_tokens(html: str) -> str:
    """The screen with its form tokens blanked (they hold the second they were issued)."""
    return _FORM_TOKEN.sub('name="form_token" value=""', html)


def expired(widget: Widget, kind: str, ident: str) -> str:
    """A context token signed a day ago that lived an hour."""
    return sign_context(
        widget.runtime.settings.secret_key,
        kind,
        ident,
        ttl=dt.timedelta(hours=1),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )
