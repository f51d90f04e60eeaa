"""The sandbox processor's web face: the hosted card page and the card-present endpoint.

Mount `hosted_app(gateway)` at the gateway's `base_url`. Routes (names for url_for):

- `GET  /`                     index        what this is
- `GET  /healthz`              healthz      200 when the store answers, else 503
- `GET  /pay/{session_id}`     pay          the card form (404 page if unknown)
- `POST /pay/{session_id}`     pay          tokenize, then 303 to the return URL
- `POST /pay/{session_id}/cancel` cancel    303 to the cancel URL
- `POST /card-present/tokens`  card_present_tokens  JSON {pan, exp_month, exp_year, name}
                                            -> 201 {token, brand, last4, exp_month, exp_year}
- `/static/...`                static       the page's stylesheet

The page works without JavaScript and has no inline script or style, so its CSP
allows neither. The card number and security code are never echoed back into
a re-rendered form.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import utcnow
from shared.gateway.protocol import GatewayError
from shared.gateway.sandbox import cards
from shared.gateway.sandbox.cards import SANDBOX_CARDS, CardData, CardError
from shared.gateway.sandbox.gateway import Checkout, SandboxGateway
from shared.gateway.sandbox.messages import BRAND_NAMES, messages
from shared.gateway.sandbox.store import CheckoutStatus, TokenSource
from shared.i18n import negotiate
from shared.money import Money

HERE = Path(__file__).resolve().parent

CSP: dict[str, list[str]] = {
    "default-src": ["'none'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
}
HEADERS = {
    "x-content-type-options": "nosniff",
    # The session id is in the page URL; do not hand it to anyone else.
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
# Card-present requests carry four small fields; anything bigger is not one.
_MAX_JSON_BYTES = 4096


def csp(form_targets: tuple[str, ...] = ()) -> str:
    """The policy as a header. Browsers check form-action against where a form's
    redirect lands too, so the pay page adds the return and cancel origins."""
    policy = {**CSP, "form-action": [*CSP["form-action"], *form_targets]}
    return "; ".join(f"{name} {' '.join(values)}" for name, values in policy.items())


class SecurityHeaders:
    """Pure ASGI: sets the default headers on every response that has not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {"content-security-policy": csp(), **HEADERS}.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    id: str
    autocomplete: str
    numeric: bool = False
    hint: bool = False
    echo: bool = True


# Card number and security code are never sent back to the browser (echo=False).
FIELDS = (
    Field("name", "cardholder-name", "cc-name"),
    Field("number", "card-number", "cc-number", numeric=True, echo=False),
    Field("expiry", "card-expiry", "cc-exp", hint=True),
    Field("cvc", "card-cvc", "cc-csc", numeric=True, hint=True, echo=False),
)


def hosted_app(gateway: SandboxGateway) -> Starlette:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    views = _Views(gateway, Jinja2Templates(env=env))
    routes = [
        Route("/", views.index, name="index"),
        Route("/healthz", views.healthz, name="healthz"),
        Route("/pay/{session_id}", views.pay, methods=["GET", "POST"], name="pay"),
        Route("/pay/{session_id}/cancel", views.cancel, methods=["POST"], name="cancel"),
        # TODO(kiosk auth): terminals will authenticate with client credentials; until
        # then any caller that can reach this endpoint can mint tokens.
        Route(
            "/card-present/tokens",
            views.card_present_tokens,
            methods=["POST"],
            name="card_present_tokens",
        ),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={404: views.not_found},
    )
    env.globals["url_for"] = _url_for(app.router)
    return app


def _url_for(router: Router) -> Callable[..., str]:
    """`url_for` for our templates. `request.url_for` asks the outermost router, which
    knows this app only under its mount's name (and has a `static` of its own), so ask
    our router and put the path we are mounted at in front."""

    @pass_context
    def url_for(context: Mapping[str, Any], name: str, /, **path_params: Any) -> str:
        request: Request = context["request"]
        return str(request.scope.get("root_path", "")) + router.url_path_for(name, **path_params)

    return url_for


class _Views:
    def __init__(self, gateway: SandboxGateway, templates: Jinja2Templates) -> None:
        self.gateway = gateway
        self.templates = templates

    def _render(
        self,
        request: Request,
        name: str,
        locale: str,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        context |= {"locale": locale, "t": messages(locale)}
        return self.templates.TemplateResponse(
            request, f"sandbox/{name}", context, status_code=status_code, headers=headers
        )

    async def index(self, request: Request) -> Response:
        return self._render(
            request, "index.html", negotiate(request.headers.get("accept-language"))
        )

    async def healthz(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.gateway.store.ping)
        except SQLAlchemyError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def not_found(self, request: Request, exc: Exception) -> Response:
        locale = negotiate(request.headers.get("accept-language"))
        return self._render(request, "not_found.html", locale, status_code=404)

    async def pay(self, request: Request) -> Response:
        checkout = await run_in_threadpool(self.gateway.checkout, request.path_params["session_id"])
        if checkout is None:
            raise HTTPException(404)
        if request.method == "GET":
            if checkout.status is not CheckoutStatus.OPEN:
                return self._used(request, checkout, status_code=200)
            return self._form(request, checkout, errors={}, values={})

        async with request.form(max_files=0, max_fields=len(FIELDS) + 2) as form:
            values = {field.name: _text(form, field.name) for field in FIELDS}
            form_token = _text(form, "form_token")
        if refused := self._refuse(request, checkout, form_token):
            return refused
        errors, card = _read_card(values)
        if card is None:
            return self._form(request, checkout, errors=errors, values=values, status_code=422)
        try:
            checkout = await run_in_threadpool(
                self.gateway.complete_checkout, checkout.id, form_token, card
            )
        except GatewayError as error:
            return self._gateway_refused(request, checkout, error)
        return RedirectResponse(checkout.return_to, status_code=303)

    async def cancel(self, request: Request) -> Response:
        checkout = await run_in_threadpool(self.gateway.checkout, request.path_params["session_id"])
        if checkout is None:
            raise HTTPException(404)
        async with request.form(max_files=0, max_fields=2) as form:
            form_token = _text(form, "form_token")
        if refused := self._refuse(request, checkout, form_token):
            return refused
        try:
            checkout = await run_in_threadpool(
                self.gateway.cancel_checkout, checkout.id, form_token
            )
        except GatewayError as error:
            return self._gateway_refused(request, checkout, error)
        return RedirectResponse(checkout.cancel_to, status_code=303)

    async def card_present_tokens(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_JSON_BYTES:
            return _invalid(CardError("body", "too_large", "the request is too large"), 413)
        try:
            card = _card_present_card(body)
        except CardError as error:
            return _invalid(error, 422)
        # The cardholder name is not needed to pay with a token, so it goes no further.
        token = await run_in_threadpool(self.gateway.tokenize, card, TokenSource.CARD_PRESENT)
        return JSONResponse(
            {
                "token": token,
                "brand": card.brand,
                "last4": card.last4,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
            },
            status_code=201,
        )

    def _form(
        self,
        request: Request,
        checkout: Checkout,
        *,
        errors: dict[str, str],
        values: dict[str, str],
        status_code: int = 200,
    ) -> Response:
        t = messages(checkout.locale)
        amount = Money(checkout.amount, checkout.currency).format(checkout.locale)
        test_cards = [
            (card.spaced, BRAND_NAMES[card.brand], t[f"outcome_{card.behaviour}"])
            for card in SANDBOX_CARDS
        ]
        return self._render(
            request,
            "pay.html",
            checkout.locale,
            status_code=status_code,
            headers={"content-security-policy": csp(_origins(checkout))},
            checkout=checkout,
            amount=amount,
            pay_label=t["pay_button"].format(amount=amount),
            fields=FIELDS,
            errors={name: t[code] for name, code in errors.items()},
            values={f.name: values.get(f.name, "") for f in FIELDS if f.echo},
            test_cards=test_cards,
        )

    def _used(self, request: Request, checkout: Checkout, status_code: int) -> Response:
        back = checkout.return_to if checkout.status is CheckoutStatus.COMPLETED else None
        return self._render(
            request,
            "used.html",
            checkout.locale,
            status_code=status_code,
            back=back or checkout.cancel_to,
        )

    def _refuse(self, request: Request, checkout: Checkout, form_token: str) -> Response | None:
        """The page the POST gets instead of acting, or None when it may act. The
        session's own status is rechecked under a lock when the gateway acts."""
        if not _form_token_matches(checkout, form_token):
            return self._render(
                request, "forged.html", checkout.locale, status_code=403, checkout=checkout
            )
        if checkout.status is not CheckoutStatus.OPEN:
            return self._used(request, checkout, status_code=409)
        return None

    def _gateway_refused(
        self, request: Request, checkout: Checkout, error: GatewayError
    ) -> Response:
        if error.code == "session_used":
            return self._used(request, checkout, status_code=409)
        if error.code == "forged_form":
            return self._render(
                request, "forged.html", checkout.locale, status_code=403, checkout=checkout
            )
        raise error


def _form_token_matches(checkout: Checkout, form_token: str) -> bool:
    # As bytes: a posted form can hold any text, and compare_digest refuses non-ASCII str.
    return secrets.compare_digest(checkout.form_token.encode(), form_token.encode())


# Where a card-present request went wrong, in the request's own field names.
_JSON_FIELDS = {"number": "pan", "expiry": "expiry"}


def _read_card(values: dict[str, str]) -> tuple[dict[str, str], CardData | None]:
    """Check every field (so the page lists every problem at once); the card if all pass."""
    errors: dict[str, str] = {}
    if not values["name"].strip():
        errors["name"] = "missing_name"
    pan = month = year = None
    try:
        pan = cards.read_pan(values["number"])
    except CardError as error:
        errors[error.field] = error.code
    try:
        month, year = cards.check_expiry(
            *cards.read_expiry(values["expiry"]), today=utcnow().date()
        )
    except CardError as error:
        errors[error.field] = error.code
    try:
        cards.check_cvc(values["cvc"])
    except CardError as error:
        errors[error.field] = error.code
    if errors or pan is None or month is None or year is None:
        return errors, None
    return errors, CardData(pan, month, year)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _origins(checkout: Checkout) -> tuple[str, ...]:
    origins = []
    for url in (checkout.return_url, checkout.cancel_url):
        parts = urlsplit(url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(dict.fromkeys(origins))


def _card_present_card(body: bytes) -> CardData:
    """The card in a card-present request, JSON {pan, exp_month, exp_year, name}."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CardError("body", "invalid_json", "the body must be a JSON object")
    pan, month, year, name = (data.get(key) for key in ("pan", "exp_month", "exp_year", "name"))
    if not isinstance(pan, str):
        raise CardError("pan", "invalid_number", "pan must be a string of digits")
    if isinstance(month, bool) or not isinstance(month, int):
        raise CardError("exp_month", "invalid_expiry", "exp_month must be an integer")
    if isinstance(year, bool) or not isinstance(year, int):
        raise CardError("exp_year", "invalid_expiry", "exp_year must be an integer")
    if name is not None and not isinstance(name, str):
        raise CardError("name", "invalid_name", "name must be a string or null")
    try:
        return CardData.read(pan, month, year, today=utcnow().date())
    except CardError as error:
        raise CardError(_JSON_FIELDS[error.field], error.code, error.message) from None


def _invalid(error: CardError, status_code: int) -> Response:
    body = {"error": error.code, "message": error.message, "field": error.field}
    return JSONResponse(body, status_code=status_code)
