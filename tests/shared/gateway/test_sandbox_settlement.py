"""Settlement batches and their report, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.db import utcnow
from shared.gateway.protocol import GatewayError, Transaction, TransactionState
from shared.gateway.sandbox import SandboxGateway, write_report
from shared.gateway.sandbox.settlement import REPORT_COLUMNS

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINE = "4000000000000002"

Tokenize = Callable[[str], str]


def pay(
    gateway: SandboxGateway,
    card_token: Tokenize,
    key: str,
    amount: int,
    *,
    pan: str = VISA,
    capture: bool = True,
) -> str:
    answer = gateway.authorize(
        token=card_token(pan), amount=amount, currency="CAD", our_key=key, capture=capture
    )
    assert answer.reference is not None
    return answer.reference


def rows(report: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(report)))


def looked_up(gateway: SandboxGateway, key: str) -> Transaction:
    found = gateway.lookup(key)
    assert found is not None
    return found


def test_a_batch_takes_captured_sales_and_refunds(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    first = pay(gateway, card_token, "s1", 1000)
    pay(gateway, card_token, "s2", 2550, pan=MASTERCARD)
    pay(gateway, card_token, "held", 700, capture=False)  # authorized only: not settled
    pay(gateway, card_token, "declined", 900, pan=DECLINE)
    voided = pay(gateway, card_token, "voided", 300)
    gateway.void(reference=voided, our_key="v1")
    gateway.refund(reference=first, amount=250, our_key="r1")

    batch = gateway.settle(until=utcnow())

    assert re.fullmatch(r"B-\d{8}-\d{3}", batch.batch_id)
    assert batch.batch_id.endswith("-001")
    kinds = sorted((line.our_key, line.kind, line.amount) for line in batch.lines)
    assert kinds == [("r1", "refund", 250), ("s1", "sale", 1000), ("s2", "sale", 2550)]
    assert batch.net == 1000 + 2550 - 250

    report = rows(batch.report_csv)
    assert tuple(report[0]) == REPORT_COLUMNS
    assert {row["batch_id"] for row in report} == {batch.batch_id}
    sales = sum(int(row["amount_minor"]) for row in report if row["kind"] == "sale")
    refunds = sum(int(row["amount_minor"]) for row in report if row["kind"] == "refund")
    assert (sales, refunds) == (3550, 250)
    refund_row = next(row for row in report if row["kind"] == "refund")
    assert refund_row["reference"] == first  # tied to the sale it refunds
    assert (refund_row["card_brand"], refund_row["card_last4"]) == ("visa", "4242")
    for row in report:
        assert row["currency"] == "CAD"
        assert dt.datetime.fromisoformat(row["captured_at"]).tzinfo is not None


def test_settled_sales_show_their_batch(gateway: SandboxGateway, card_token: Tokenize) -> None:
    pay(gateway, card_token, "s1", 1000)
    refunded = pay(gateway, card_token, "s2", 500)
    gateway.refund(reference=refunded, amount=100, our_key="r1")

    batch = gateway.settle(until=utcnow())

    settled = looked_up(gateway, "s1")
    assert settled.state is TransactionState.SETTLED
    assert settled.settlement_batch == batch.batch_id
    # A refund before settlement keeps its refund state; the sale still settled.
    partly = looked_up(gateway, "s2")
    assert partly.state is TransactionState.PARTIALLY_REFUNDED
    assert partly.settlement_batch == batch.batch_id
    assert looked_up(gateway, "s1").approved


def test_nothing_is_settled_twice(gateway: SandboxGateway, card_token: Tokenize) -> None:
    pay(gateway, card_token, "s1", 1000)
    first = gateway.settle(until=utcnow())

    second = gateway.settle(until=utcnow())
    third = gateway.settle(until=utcnow())

    assert len(first.lines) == 1
    assert second.lines == ()
    assert third.lines == ()
    assert rows(second.report_csv) == []
    assert second.report_csv.splitlines() == [",".join(REPORT_COLUMNS)]
    assert len({first.batch_id, second.batch_id, third.batch_id}) == 3


def test_an_empty_store_settles_to_an_empty_batch(gateway: SandboxGateway) -> None:
    batch = gateway.settle(until=utcnow())
    assert batch.lines == ()
    assert batch.net == 0


def test_a_refund_after_settlement_goes_in_the_next_batch(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    reference = pay(gateway, card_token, "s1", 1000)
    gateway.settle(until=utcnow())

    refunded = gateway.refund(reference=reference, amount=1000, our_key="r1")
    assert refunded.state is TransactionState.REFUNDED
    later = gateway.settle(until=utcnow())

    assert [(line.kind, line.our_key, line.amount) for line in later.lines] == [
        ("refund", "r1", 1000)
    ]
    assert later.net == -1000


def test_settled_payments_are_refunded_not_voided(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    reference = pay(gateway, card_token, "s1", 1000)
    gateway.settle(until=utcnow())

    with pytest.raises(GatewayError) as refused:
        gateway.void(reference=reference, our_key="v1")
    assert refused.value.code == "already_settled"
    partial = gateway.refund(reference=reference, amount=400, our_key="r1")
    assert partial.state is TransactionState.PARTIALLY_REFUNDED
    with pytest.raises(GatewayError) as over:
        gateway.refund(reference=reference, amount=601, our_key="r2")
    assert over.value.code == "refund_exceeds_amount"


def test_until_bounds_the_batch(gateway: SandboxGateway, card_token: Tokenize) -> None:
    before = utcnow()
    pay(gateway, card_token, "s1", 1000)

    early = gateway.settle(until=before - dt.timedelta(seconds=1))
    late = gateway.settle(until=utcnow())

    assert early.lines == ()
    assert [line.our_key for line in late.lines] == ["s1"]


def test_a_capture_after_authorization_settles_at_the_captured_amount(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    reference = pay(gateway, card_token, "s1", 1000, capture=False)
    gateway.capture(reference=reference, amount=800, our_key="c1")

    batch = gateway.settle(until=utcnow())

    assert [(line.our_key, line.amount) for line in batch.lines] == [("s1", 800)]


def test_batch_numbers_follow_the_day_of_until(gateway: SandboxGateway) -> None:
    day = dt.datetime(2026, 3, 14, 23, 0, tzinfo=dt.UTC)
    assert gateway.settle(until=day).batch_id == "B-20260314-001"
    assert gateway.settle(until=day).batch_id == "B-20260314-002"
    next_day = day + dt.timedelta(hours=2)
    assert gateway.settle(until=next_day).batch_id == "B-20260315-001"


def test_until_must_carry_a_zone(gateway: SandboxGateway) -> None:
    with pytest.raises(ValueError, match="timezone"):
        gateway.settle(until=dt.datetime(2026, 3, 14, 12, 0))


def test_write_report(gateway: SandboxGateway, card_token: Tokenize, tmp_path: Path) -> None:
    pay(gateway, card_token, "s1", 1000)
    batch = gateway.settle(until=utcnow())

    path = write_report(batch, tmp_path / "reports")

    assert path == tmp_path / "reports" / f"settlement-{batch.batch_id}.csv"
    assert path.read_bytes().decode() == batch.report_csv
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert gateway.write_report(batch, tmp_path / "again").read_bytes() == path.read_bytes()


def test_a_chargeback_goes_in_the_next_batch_under_the_sales_key(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    reference = pay(gateway, card_token, "sale-1", 10_000)
    gateway.settle(until=utcnow())
    gateway.refund(reference=reference, amount=2_500, our_key="refund-1")
    gateway.chargeback(reference=reference)

    batch = gateway.settle(until=utcnow())

    assert sorted((line.kind, line.our_key, line.amount) for line in batch.lines) == [
        ("chargeback", "sale-1", 7_500),  # what the refund left
        ("refund", "refund-1", 2_500),
    ]
    assert batch.net == -10_000
    assert {row["kind"] for row in rows(batch.report_csv)} == {"chargeback", "refund"}
    with pytest.raises(GatewayError, match="charged back already"):
        gateway.chargeback(reference=reference)


def test_only_a_captured_sale_can_be_charged_back(
    gateway: SandboxGateway, card_token: Tokenize
) -> None:
    held = pay(gateway, card_token, "auth-only", 4_000, capture=False)
    with pytest.raises(GatewayError, match="cannot charge back"):
        gateway.chargeback(reference=held)
    with pytest.raises(GatewayError, match="no payment"):
        gateway.chargeback(reference="NOPE")
