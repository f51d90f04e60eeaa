"""Schemathesis fuzzes every call of the API document with a valid kiosk token, and the
push calls with a valid integration client's token too: whatever it sends, no answer is a
5xx, and every answer has a documented status, content type and shape. Few examples per
call and a fixed seed: modest and deterministic."""

from __future__ import annotations

from collections.abc import Callable

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from paydesk.app import asgi, create_app
from tests.integrations.api.conftest import Api
from tests.integrations.api.test_push_api import _setup

# The bulk push takes NDJSON: sent as the text schemathesis generates.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_CALL = 12


def test_every_call_answers_within_its_schema_whatever_it_is_sent(
    api: Api, client: TestClient
) -> None:
    kiosk = api.kiosk(client)
    operations = _fuzz(api, {"Authorization": f"Bearer {kiosk.token}"}, lambda path: True)
    assert operations >= 12  # every kiosk call, the token endpoint, the index


def test_every_push_call_answers_within_its_schema_whatever_it_is_sent(
    api: Api, client: TestClient
) -> None:
    push = _setup(api, client)
    operations = _fuzz(api, push.headers, lambda path: "/v1/bills" in path or "/accounts" in path)
    assert operations == 3  # PUT a bill, PUT an account, POST bills in bulk


def _fuzz(api: Api, headers: dict[str, str], chosen: Callable[[str], bool]) -> int:
    app = asgi(create_app(api.runtime))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [
        op for op in (result.ok() for result in schema.get_all_operations()) if chosen(op.path)
    ]
    # Valid requests (positive) and requests breaking the schema (negative): neither may
    # get a 5xx or an undocumented answer.
    # (A call that takes nothing, like the configuration, has nothing to break.)
    cases = [(op, schemathesis.GenerationMode.POSITIVE) for op in operations] + [
        (op, schemathesis.GenerationMode.NEGATIVE)
        for op in operations
        if list(op.iter_parameters()) or op.get_request_payload_content_types()
    ]
    for operation, mode in cases:

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_CALL,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
    return len(operations)
