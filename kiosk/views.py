"""The kiosk's screens. Every screen works by touch, by keyboard and without JavaScript;
the small script only counts down the idle warning and polls a payment's progress."""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
from typing import Any
from urllib.parse import urlsplit

import segno
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from kiosk.client import ApiError, ServerUnreachable
from kiosk.payment import APPROVED_STATES, PaymentRun, RunState
from kiosk.service import KioskService
from kiosk.sessions import COOKIE, Visit
from kiosk_devices.card_reader.simulated import SimulatedCardReader
from shared.i18n import DEFAULT_LOCALE, LOCALES, N_, current_locale

logger = logging.getLogger("paydesk.kiosk")

MAX_FIELD = 40
MAX_EMAIL = 254
# The on-screen keypads: what a bill's account number, bill number and access code can
# hold, and what an email address can.
CODE_KEYS = ("1234567890", "ABCDEFGHIJ", "KLMNOPQRST", "UVWXYZ-")
EMAIL_KEYS = ("1234567890", "qwertyuiop", "asdfghjkl@", "zxcvbnm.-_")
FIND_FIELDS = ("reference", "access_code")
# Where "back" from the help screen may go.
SCREENS = {"find": "/find", "bills": "/bills", "card": "/card", "receipt": "/receipt"}
POLLED = frozenset(
    {RunState.WAITING_CARD, RunState.READING, RunState.AUTHORIZING, RunState.IN_DOUBT}
)


def service_of(request: Request) -> KioskService:
    service: KioskService = request.app.state.kiosk
    return service


def path(request: Request, to: str) -> str:
    """`to` under wherever the kiosk is mounted (`/` alone, `/kiosk` in the demo)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + to


def visit_of(request: Request, *, touch: bool = True) -> Visit | None:
    visit = service_of(request).sessions.get(request.cookies.get(COOKIE), touch=touch)
    if visit is not None:
        current_locale.set(visit.locale)
    return visit


def render(
    request: Request,
    template: str,
    visit: Visit | None,
    *,
    status_code: int = 200,
    idle: bool = True,
    poll_state: str = "",
    **context: Any,
) -> Response:
    service = service_of(request)
    env = request.app.state.templates
    locale = visit.locale if visit else DEFAULT_LOCALE
    current_locale.set(locale)
    settings = service.settings
    html = env.get_template(f"kiosk/{template}").render(
        request=request,
        u=lambda to: path(request, to),
        visit=visit,
        locale=locale,
        csrf=visit.csrf if visit else "",
        location=(service.state.config or {}).get("location", ""),
        idle_seconds=math.ceil(settings.idle_seconds) if idle and visit else 0,
        countdown_seconds=math.ceil(settings.countdown_seconds),
        poll_state=poll_state,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, to: str) -> Response:
    return RedirectResponse(path(request, to), status_code=303)


def _wipe(request: Request, response: Response) -> Response:
    """End the visit: the entry, the cookie, and whatever the browser kept."""
    service = service_of(request)
    visit = service.sessions.get(request.cookies.get(COOKIE))
    if visit is not None:
        service.sessions.end(visit)
    response.delete_cookie(COOKIE, path=path(request, "/"), httponly=True, samesite="strict")
    # A kiosk owns its origin, so every cookie of it goes; the demo's kiosk shares the
    # server's origin (a staff sign-in in another tab), so there only its own cookie goes.
    alone = not request.scope.get("root_path")
    response.headers["Clear-Site-Data"] = (
        '"cache", "cookies", "storage"' if alone else '"cache", "storage"'
    )
    return response


async def _form(request: Request, visit: Visit | None) -> FormData | None:
    """The form, if it came from our own screen: same origin and the visit's token."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = urlsplit(str(request.base_url))
        if urlsplit(origin).netloc != own.netloc:
            return None
    form = await request.form()
    if visit is not None:
        token = str(form.get("csrf_token", ""))
        if not hmac.compare_digest(token, visit.csrf):
            return None
    return form


def _refused(request: Request) -> Response:
    return redirect(request, "/")


def _out_of_service(request: Request, visit: Visit | None) -> Response:
    response = render(
        request,
        "out_of_service.html",
        None,
        status_code=503,
        poll_state="out_of_service",
        idle=False,
    )
    if visit is not None and (visit.run is None or visit.run.finished):
        # Nothing can be done here now, and the screen may stay up long after the
        # resident left: their bills must not be there when the kiosk comes back.
        return _wipe(request, response)
    return response


# --- welcome and language ----------------------------------------------------------
async def welcome(request: Request) -> Response:
    service = service_of(request)
    if not service.in_service:
        return _out_of_service(request, None)
    return render(request, "welcome.html", None, poll_state="in_service")


async def start(request: Request) -> Response:
    service = service_of(request)
    form = await _form(request, None)
    if form is None or not service.in_service:
        return _refused(request)
    locale = str(form.get("lang", ""))
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    # A new visit never inherits anything: an old one in this browser is ended first.
    old = service.sessions.get(request.cookies.get(COOKIE))
    if old is not None:
        service.sessions.end(old)
    visit = service.sessions.start(locale)
    response = redirect(request, "/find")
    response.set_cookie(COOKIE, visit.id, path=path(request, "/"), httponly=True, samesite="strict")
    return response


# --- find a bill -----------------------------------------------------------------------
def _typed(value: object, keys: tuple[str, ...], limit: int) -> str:
    allowed = set("".join(keys)) | set("abcdefghijklmnopqrstuvwxyz ")
    text = str(value or "")[:limit]
    return "".join(c for c in text if c in allowed or c.isalnum())


async def find(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None:
        return redirect(request, "/")
    if not service_of(request).in_service:
        return _out_of_service(request, visit)
    if request.method == "GET":
        return _find_page(request, visit, {"reference": "", "access_code": ""}, "reference")
    form = await _form(request, visit)
    if form is None:
        return _refused(request)
    values = {name: _typed(form.get(name), CODE_KEYS, MAX_FIELD) for name in FIND_FIELDS}
    target = str(form.get("target", "reference"))
    if target not in FIND_FIELDS:
        target = "reference"
    key = form.get("key")
    if key is not None:
        values[target] = _keyed(values[target], str(key), CODE_KEYS, MAX_FIELD)
        return _find_page(request, visit, values, target, pressed=str(key))
    if str(form.get("action", "")) == "next":
        return _find_page(request, visit, values, "access_code")
    reference = values["reference"].strip().upper()
    access_code = values["access_code"].strip()
    if not reference or not access_code:
        error = "missing_reference" if not reference else "missing_code"
        return _find_page(request, visit, values, target, error=error, status_code=422)
    service = service_of(request)
    assert service.api is not None
    try:
        found = await service.api.lookup(reference, access_code, visit.locale, visit.basket_token)
    except ServerUnreachable:
        service.state.server_ok = False
        return _out_of_service(request, visit)
    except ApiError as error:
        code = error.code if error.code in ("not_found", "too_many_attempts") else "refused"
        return _find_page(
            request, visit, values, target, error=code, message=error.message, status_code=200
        )
    visit.basket_token = str(found["basket_token"])
    visit.customer_display = visit.customer_display or str(found.get("customer_display", ""))
    # Another account's bills join the ones found before: one payment pays them all.
    known = {b["invoice_number"] for b in visit.bills}
    added = [b for b in found.get("bills", []) if b["invoice_number"] not in known]
    visit.bills += added
    visit.currency = str(found.get("currency", service.config.get("currency", "")))
    visit.selected += [b["invoice_number"] for b in added if _payable(b)]
    return redirect(request, "/bills")


def _keyed(value: str, key: str, keys: tuple[str, ...], limit: int) -> str:
    if key == "backspace":
        return value[:-1]
    if key == "clear":
        return ""
    if len(key) == 1 and key in "".join(keys) and len(value) < limit:
        return value + key
    return value


def _find_page(
    request: Request,
    visit: Visit,
    values: dict[str, str],
    target: str,
    *,
    error: str = "",
    message: str = "",
    status_code: int = 200,
    pressed: str = "",
) -> Response:
    return render(
        request,
        "find.html",
        visit,
        pressed=pressed,
        status_code=status_code,
        values=values,
        target=target,
        keys=CODE_KEYS,
        error=error,
        message=message,
    )


# --- bills -------------------------------------------------------------------------------
def _payable(bill: dict[str, Any]) -> bool:
    return not bill.get("held") and int(bill.get("payable_minor", 0)) > 0


def _selection(visit: Visit) -> list[dict[str, Any]]:
    return [b for b in visit.bills if b["invoice_number"] in visit.selected and _payable(b)]


async def bills(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None or visit.basket_token is None:
        return redirect(request, "/" if visit is None else "/find")
    service = service_of(request)
    if request.method == "GET":
        if not service.in_service:
            return _out_of_service(request, visit)
        return _bills_page(request, visit)
    form = await _form(request, visit)
    if form is None:
        return _refused(request)
    chosen = {str(v) for v in form.getlist("invoice")}
    visit.selected = [b["invoice_number"] for b in visit.bills if b["invoice_number"] in chosen]
    if form.get("action") == "update":
        return _bills_page(request, visit)
    if not _selection(visit):
        return _bills_page(request, visit, error="none_selected", status_code=422)
    if not await _ready(service):
        # No card is accepted while the kiosk cannot reach the server or the reader.
        return _out_of_service(request, visit)
    _start_run(visit, service)
    return redirect(request, "/card")


async def _ready(service: KioskService) -> bool:
    """In service, checked again now: a card is read only if it can be paid with."""
    await service.check()
    return service.in_service


def _start_run(visit: Visit, service: KioskService) -> None:
    chosen = _selection(visit)
    assert visit.basket_token is not None
    run = PaymentRun(
        service,
        basket_token=visit.basket_token,
        invoices=[b["invoice_number"] for b in chosen],
        amount_minor=sum(int(b["payable_minor"]) for b in chosen),
        currency=visit.currency,
        locale=visit.locale,
    )
    visit.run = run
    run.start()


def _bills_page(
    request: Request, visit: Visit, *, error: str = "", status_code: int = 200
) -> Response:
    chosen = _selection(visit)
    return render(
        request,
        "bills.html",
        visit,
        status_code=status_code,
        bills=visit.bills,
        payable=_payable,
        total=sum(int(b["payable_minor"]) for b in chosen),
        count=len(chosen),
        error=error,
    )


# --- the card ----------------------------------------------------------------------------
async def card(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None or visit.run is None:
        return redirect(request, "/" if visit is None else "/bills")
    run: PaymentRun = visit.run
    if run.state in APPROVED_STATES:
        return redirect(request, "/receipt")
    return render(
        request,
        "card.html",
        visit,
        run=run,
        # While the card is read and the bank asked, the screen must not start over.
        idle=run.state not in (RunState.READING, RunState.AUTHORIZING),
        demo_cards=DEMO_CARDS if _simulated(request) else {},
        poll_state=run.state.value if run.state in POLLED else "",
    )


def _simulated(request: Request) -> SimulatedCardReader | None:
    reader = service_of(request).devices.reader
    return reader if isinstance(reader, SimulatedCardReader) else None


# The simulated reader's cards a demo visitor may "insert": approved ones, the bank's
# refusals and slow answers, and the reader's faults.
DEMO_CARDS = {
    "visa": N_("Visa (approved)"),
    "mastercard": N_("Mastercard (approved)"),
    "amex": N_("American Express (approved)"),
    "declined": N_("A card the bank declines"),
    "insufficient_funds": N_("A card without enough funds"),
    "timeout_approved": N_("A slow bank that approves"),
    "timeout_declined": N_("A slow bank that declines"),
    "blocked": N_("A blocked card"),
    "removed_mid_read": N_("A card pulled out too early"),
}


async def simulate_card(request: Request) -> Response:
    """The demo's card reader: no hardware, so the screen offers sandbox cards."""
    visit = visit_of(request)
    reader = _simulated(request)
    if visit is None or reader is None:
        return redirect(request, "/")
    form = await _form(request, visit)
    if form is None:
        return _refused(request)
    profile = str(form.get("card", ""))
    run = visit.run
    if profile in DEMO_CARDS and run is not None and run.state == RunState.WAITING_CARD:
        reader.insert(profile)
        # Out again once read, so the next visitor starts with an empty reader.
        await _wait_read(run)
        reader.remove()
    return redirect(request, "/card")


async def _wait_read(run: PaymentRun) -> None:
    for _ in range(200):
        if run.state not in (RunState.WAITING_CARD, RunState.READING):
            return
        await asyncio.sleep(0.05)


async def card_cancel(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None:
        return redirect(request, "/")
    if await _form(request, visit) is None:
        return _refused(request)
    if visit.run is not None and visit.run.state == RunState.WAITING_CARD:
        visit.run.cancel()
        await visit.run.wait()
    if visit.run is not None and visit.run.finished and not visit.run.approved:
        visit.run = None
        return redirect(request, "/bills")
    return redirect(request, "/card")


async def card_retry(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None:
        return redirect(request, "/")
    if await _form(request, visit) is None:
        return _refused(request)
    service = service_of(request)
    run = visit.run
    if run is None or not run.finished or run.approved:
        return redirect(request, "/card")
    if not await _ready(service):
        return _out_of_service(request, visit)
    _start_run(visit, service)
    return redirect(request, "/card")


# --- the receipt -------------------------------------------------------------------------
def _qr_data_uri(url: str) -> str:
    """The receipt's verification link as a QR code the resident can photograph."""
    return str(segno.make(url, error="m").svg_data_uri(scale=6, border=2, dark="#000"))


async def receipt(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None or visit.run is None or not visit.run.approved:
        return redirect(request, "/" if visit is None else "/card")
    run: PaymentRun = visit.run
    return _receipt_page(request, visit, run)


def _receipt_page(
    request: Request,
    visit: Visit,
    run: PaymentRun,
    *,
    email: str = "",
    error: str = "",
    message: str = "",
    status_code: int = 200,
    pressed: str = "",
) -> Response:
    verification_url = (run.receipt or {}).get("verification_url")
    return render(
        request,
        "receipt.html",
        visit,
        status_code=status_code,
        run=run,
        payment=run.payment or {},
        qr=_qr_data_uri(str(verification_url)) if verification_url else None,
        email=email,
        keys=EMAIL_KEYS,
        pressed=pressed,
        error=error,
        message=message,
        poll_state=run.state.value if run.state == RunState.PRINTING else "",
    )


async def receipt_email(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None or visit.run is None or not visit.run.approved:
        return redirect(request, "/")
    form = await _form(request, visit)
    if form is None:
        return _refused(request)
    run: PaymentRun = visit.run
    email = _typed(form.get("email"), EMAIL_KEYS, MAX_EMAIL).replace(" ", "")
    key = form.get("key")
    if key is not None:
        typed = _keyed(email, str(key), EMAIL_KEYS, MAX_EMAIL)
        return _receipt_page(request, visit, run, email=typed, pressed=str(key))
    number = (run.payment or {}).get("receipt_number")
    if not number or "@" not in email:
        return _receipt_page(request, visit, run, email=email, error="email", status_code=422)
    api = service_of(request).api
    assert api is not None
    try:
        sent = await api.email_receipt(str(number), email, visit.locale)
    except ServerUnreachable:
        return _receipt_page(request, visit, run, email=email, error="unreachable")
    except ApiError as error:
        return _receipt_page(
            request, visit, run, email=email, error="refused", message=error.message
        )
    visit.emailed_to = str(sent.get("sent_to", email))
    return _receipt_page(request, visit, run)


# --- the end of a visit ----------------------------------------------------------------
async def finish(request: Request) -> Response:
    visit = visit_of(request)
    if visit is not None and await _form(request, visit) is None:
        return _refused(request)
    locale = visit.locale if visit else DEFAULT_LOCALE
    return _wipe(request, redirect(request, f"/thanks?lang={locale}"))


async def thanks(request: Request) -> Response:
    locale = request.query_params.get("lang", DEFAULT_LOCALE)
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    current_locale.set(locale)
    env = request.app.state.templates
    settings = service_of(request).settings
    html = env.get_template("kiosk/thanks.html").render(
        request=request,
        u=lambda to: path(request, to),
        visit=None,
        locale=locale,
        csrf="",
        location="",
        # The thank-you screen goes back to the welcome screen by itself.
        idle_seconds=0,
        countdown_seconds=math.ceil(min(settings.countdown_seconds, 10)),
        poll_state="",
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def reset(request: Request) -> Response:
    # Anyone may end a visit (the idle countdown, "Start over"): it only ever forgets.
    return _wipe(request, redirect(request, "/"))


async def alive(request: Request) -> Response:
    visit = visit_of(request)  # reading it touched it
    return JSONResponse({"alive": visit is not None}, headers={"Cache-Control": "no-store"})


async def state(request: Request) -> Response:
    """What the polling script compares with the screen it shows."""
    visit = visit_of(request, touch=False)
    service = service_of(request)
    if visit is not None and visit.run is not None:
        value = visit.run.state.value
    else:
        value = "in_service" if service.in_service else "out_of_service"
    return JSONResponse({"state": value}, headers={"Cache-Control": "no-store"})


# --- call for help -----------------------------------------------------------------------
async def help_call(request: Request) -> Response:
    visit = visit_of(request)
    if visit is None:
        return redirect(request, "/")
    form = await _form(request, visit)
    if form is None:
        return _refused(request)
    back = str(form.get("back", "find"))
    if back not in SCREENS:
        back = "find"
    service = service_of(request)
    about = None
    run = visit.run
    if run is not None and run.payment and run.payment.get("transaction_id"):
        about = {"kind": "payment", "reference": str(run.payment["transaction_id"])}
    elif visit.selected:
        about = {"kind": "bill", "reference": visit.selected[0]}
    reference = None
    if service.api is not None:
        try:
            answer = await service.api.help(visit.locale, about)
            reference = str(answer.get("reference"))
        except (ServerUnreachable, ApiError) as error:
            logger.warning("help call not sent: %s", error)
    visit.help_reference = reference
    return render(request, "help.html", visit, reference=reference, back=SCREENS[back])
