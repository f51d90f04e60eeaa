"""The card-present endpoint the kiosk sends a card to, over HTTP."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from shared.gateway.protocol import TransactionState
from shared.gateway.sandbox import SandboxGateway

ENDPOINT = "/sandbox-gateway/card-present/tokens"


def test_a_token_is_issued(client: TestClient, hosted_gateway: SandboxGateway) -> None:
    issued = client.post(
        ENDPOINT,
        json={"pan": "5555 5555 5555 4444", "exp_month": 6, "exp_year": 31, "name": "A Payer"},
    )

    assert issued.status_code == 201
    body = issued.json()
    assert body["token"].startswith("tok_")
    assert (body["brand"], body["last4"]) == ("mastercard", "4444")
    assert (body["exp_month"], body["exp_year"]) == (6, 2031)
    answer = hosted_gateway.authorize(
        token=body["token"], amount=2500, currency="CAD", our_key="kiosk-1"
    )
    assert answer.state is TransactionState.CAPTURED
    assert answer.card is not None
    assert answer.card.last4 == "4444"


def test_the_name_is_optional(client: TestClient) -> None:
    issued = client.post(
        ENDPOINT, json={"pan": "4242424242424242", "exp_month": 1, "exp_year": 2035}
    )
    assert issued.status_code == 201


def test_each_card_read_gets_its_own_token(client: TestClient) -> None:
    card = {"pan": "4242424242424242", "exp_month": 1, "exp_year": 2035, "name": None}
    first = client.post(ENDPOINT, json=card).json()["token"]
    second = client.post(ENDPOINT, json=card).json()["token"]
    assert first != second


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"pan": "4242424242424241", "exp_month": 1, "exp_year": 2035}, "invalid_number", "pan"),
        ({"pan": "42424242", "exp_month": 1, "exp_year": 2035}, "invalid_number", "pan"),
        ({"pan": 4242424242424242, "exp_month": 1, "exp_year": 2035}, "invalid_number", "pan"),
        ({"exp_month": 1, "exp_year": 2035}, "invalid_number", "pan"),
        ({"pan": "4242424242424242", "exp_month": 1, "exp_year": 2020}, "expired_card", "expiry"),
        ({"pan": "4242424242424242", "exp_month": 0, "exp_year": 2035}, "invalid_expiry", "expiry"),
        (
            {"pan": "4242424242424242", "exp_month": "01", "exp_year": 2035},
            "invalid_expiry",
            "exp_month",
        ),
        (
            {"pan": "4242424242424242", "exp_month": 1, "exp_year": True},
            "invalid_expiry",
            "exp_year",
        ),
        (
            {"pan": "4242424242424242", "exp_month": 1, "exp_year": 2035, "name": 7},
            "invalid_name",
            "name",
        ),
        ([1, 2], "invalid_json", "body"),
    ],
)
def test_bad_input_is_a_422(client: TestClient, body: object, code: str, field: str) -> None:
    refused = client.post(ENDPOINT, json=body)

    assert refused.status_code == 422
    assert refused.json()["error"] == code
    assert refused.json()["field"] == field
    assert refused.json()["message"]


def test_a_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    refused = client.post(
        ENDPOINT, content=b"pan=4242", headers={"content-type": "application/json"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_json"


def test_an_oversized_body_is_refused(client: TestClient) -> None:
    refused = client.post(ENDPOINT, json={"pan": "4" * 5000, "exp_month": 1, "exp_year": 2035})
    assert refused.status_code == 413


def test_only_post(client: TestClient) -> None:
    assert client.get(ENDPOINT).status_code == 405
