from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shared.web.logging import configure_logging
from shared.web.request_id import RequestIdMiddleware, request_id_var
from tests.support.live_server import serving
from tests.support.pci import card_numbers_in

VISA = "4111111111111111"
MASKED_VISA = "************1111"
ORDER_ID = "1234567890123456"  # 16 digits that fail the Luhn check


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("INFO", stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    # Every line must be JSON on its own: json.loads fails the test otherwise.
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_card_in_the_message_and_its_args_is_masked(log: io.StringIO) -> None:
    logging.getLogger("paydesk.test").warning("charge %s failed for 4111 1111 1111 1111", VISA)

    [line] = lines(log)
    assert line["message"] == f"charge {MASKED_VISA} failed for {MASKED_VISA}"
    assert line["level"] == "WARNING"
    assert line["logger"] == "paydesk.test"
    assert line["request_id"] is None
    assert "T" in line["time"]


def test_a_card_in_extra_fields_is_masked(log: io.StringIO) -> None:
    logging.getLogger("paydesk.test").info(
        "gateway answer",
        extra={
            "pan": "4111-1111-1111-1111",
            "pan_number": int(VISA),
            "payload": {"card": {"number": VISA}, "items": [ORDER_ID]},
            "order": ORDER_ID,
        },
    )

    [line] = lines(log)
    assert line["extra"] == {
        "pan": MASKED_VISA,
        "pan_number": MASKED_VISA,
        "payload": {"card": {"number": MASKED_VISA}, "items": [ORDER_ID]},
        "order": ORDER_ID,
    }


def test_a_card_in_exception_text_is_masked(log: io.StringIO) -> None:
    try:
        raise ValueError(f"processor refused card {VISA}")
    except ValueError:
        logging.getLogger("paydesk.test").exception("payment failed")

    [line] = lines(log)
    assert "ValueError: processor refused card " + MASKED_VISA in line["exception"]
    assert VISA not in log.getvalue()


def test_an_order_id_is_left_alone(log: io.StringIO) -> None:
    logging.getLogger("paydesk.test").info("order %s", ORDER_ID)

    assert lines(log)[0]["message"] == f"order {ORDER_ID}"


def test_the_request_id_comes_from_the_context(log: io.StringIO) -> None:
    token = request_id_var.set("abc123")
    try:
        logging.getLogger("paydesk.test").info("inside a request")
    finally:
        request_id_var.reset(token)

    assert lines(log)[0]["request_id"] == "abc123"


def test_odd_values_and_newlines_still_give_one_json_line(log: io.StringIO) -> None:
    logging.getLogger("paydesk.test").info(
        "line one\nline two \u00e9", extra={"when": object(), "note": f"x\n{VISA}"}
    )

    [line] = lines(log)
    assert line["message"] == "line one\nline two \u00e9"
    assert line["extra"]["note"] == f"x\n{MASKED_VISA}"


def test_configuring_twice_keeps_one_handler(log: io.StringIO) -> None:
    again = io.StringIO()
    handler = configure_logging("INFO", again)
    try:
        logging.getLogger("paydesk.test").info("once")
        assert log.getvalue() == ""
        assert len(lines(again)) == 1
    finally:
        logging.getLogger().removeHandler(handler)


async def pay(request: Request) -> Response:
    logging.getLogger("paydesk.test").info("looking up %s", request.query_params["card"])
    return PlainTextResponse("ok")


@pytest.mark.slow
def test_uvicorn_access_lines_go_through_the_same_formatter(log: io.StringIO) -> None:
    app = RequestIdMiddleware(Starlette(routes=[Route("/pay", pay)]))
    with serving(app, access_log=True) as port:
        response = httpx.get(f"http://127.0.0.1:{port}/pay", params={"card": VISA})

    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    logged = lines(log)
    assert VISA not in log.getvalue()
    [access] = [line for line in logged if line["logger"] == "uvicorn.access"]
    assert f"/pay?card={MASKED_VISA}" in access["message"]
    assert access["request_id"] == request_id
    [lookup] = [line for line in logged if line["logger"] == "paydesk.test"]
    assert lookup == lookup | {"message": f"looking up {MASKED_VISA}", "request_id": request_id}


@pytest.mark.slow
@pytest.mark.parametrize(
    "query",
    [
        "card=4111+1111+1111+1111",
        "card=4111%201111%201111%201111",
        "card=4111%2F1111%2F1111%2F1111",
        "card=4111%2C1111%2C1111%2C1111",
        "card=4111-1111%201111%2F1111",
        "card=4111%25201111%25201111%25201111",
    ],
    ids=["plus", "%20", "%2F", "%2C", "mixed", "encoded twice"],
)
def test_a_card_in_an_encoded_query_string_is_masked_in_the_access_line(
    log: io.StringIO, query: str
) -> None:
    app = RequestIdMiddleware(Starlette(routes=[Route("/pay", pay)]))
    with serving(app, access_log=True) as port:
        # Sent as typed: the query string goes out exactly as a browser would encode it.
        response = httpx.get(f"http://127.0.0.1:{port}/pay?{query}")
        missing = httpx.get(f"http://127.0.0.1:{port}/cards/{query.partition('=')[2]}")

    assert response.status_code == 200 and missing.status_code == 404
    [access, not_found] = [line for line in lines(log) if line["logger"] == "uvicorn.access"]
    assert MASKED_VISA in access["message"] and MASKED_VISA in not_found["message"]
    assert card_numbers_in(log.getvalue().encode()) == []
    assert card_numbers_in(unquote_plus(unquote_plus(log.getvalue())).encode()) == []
