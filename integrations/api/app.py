"""Build the FastAPI sub-app that paydesk/app.py mounts at `/api`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request

from integrations.api import docs, kiosk, push, schemas, token
from integrations.api.web import EXCEPTION_HANDLERS, Parts

DESCRIPTION = (
    "Paydesk's integration API. Version 1 is the kiosk API: a lobby kiosk enrols with a "
    "one-time code, gets 15-minute bearer tokens by OAuth2 client credentials (scope "
    "`kiosk`), and finds bills, takes card-present payments, prints receipts, reports its "
    "health and calls for help. Errors are `{error, message}` (plus `fields` on 422); "
    "money is integer minor units with a display string in the request's locale. Back-end "
    "systems registered as integration clients push accounts and bills (scope "
    "`balances:write`); those endpoints answer errors as RFC 9457 problem details."
)


def index(request: Request) -> schemas.Index:
    root = request.scope.get("root_path", "")
    return schemas.Index(
        service="paydesk",
        openapi=f"{root}/openapi.json",
        docs=f"{root}/docs",
        versions={"v1": {"kiosk": f"{root}/v1/kiosk/", "oauth_token": f"{root}/v1/oauth/token"}},
    )


def create_api(parts: Parts) -> FastAPI:
    api = FastAPI(
        title="Paydesk API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    api.state.parts = parts
    api.add_api_route(
        "/", index, methods=["GET"], response_model=schemas.Index, summary="What is here"
    )
    api.add_api_route("/docs", docs.docs_page, methods=["GET"], include_in_schema=False)
    api.include_router(token.router)
    api.include_router(kiosk.router)
    api.include_router(push.router)
    return api
