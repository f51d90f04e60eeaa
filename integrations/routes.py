from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


def index(request: Request) -> Response:
    # The integration API (balances, payments, webhooks) lands with the integrations issue.
    return JSONResponse({"service": "paydesk", "api": "not yet available"})


routes: list[BaseRoute] = [Route("/", index, name="index")]
