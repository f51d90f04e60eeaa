"""The help widget's screens: help first (answers from the live state of what the page was
about, the common questions), then "contact support", "email my receipt" and, at a kiosk,
"call for help".

Each screen is a page (the widget's no-JavaScript fallback, and where a failed fetch
leads) and, asked for by the widget (`HX-Request`), the same content as a fragment it
puts in its panel. The context is the page's server-signed reference (`ctx`), resolved
live on every request; a token that does not verify is treated as no context at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from shared import audit, rate_limit
from shared.actors import Actor, ActorType
from shared.card_numbers import scrub
from shared.help import answers, topics
from shared.help.context import Resolved, resolve
from shared.i18n import gettext_ as _
from shared.interactions import sla, support
from shared.models import InteractionChannel, SupportPriority
from shared.rate_limit import Limit, RateLimited
from shared.receipts.email import send_receipt
from shared.web.endpoint import fragment_or_page, page, wants_fragment
from shared.web.forms import client_address, form_text, settings_of
from support_widget import contact
from support_widget.guard import embeddable, form_token, form_token_valid
from support_widget.templating import NO_STORE, templates

CONTACT_PER_CLIENT = Limit(5, dt.timedelta(hours=1))
CONTACT_PER_ADDRESS = Limit(3, dt.timedelta(hours=1))
# Every resident at a kiosk comes from its address: a kiosk counts apart, and more.
CONTACT_PER_KIOSK = Limit(20, dt.timedelta(hours=1))
RECEIPT_PER_RECEIPT = Limit(3, dt.timedelta(hours=1))
RECEIPT_PER_CLIENT = Limit(10, dt.timedelta(hours=1))
CALLS_PER_TERMINAL = Limit(3, dt.timedelta(minutes=10))
CONTEXT_FIELD = "ctx"


def _token(request: Request) -> str:
    raw = request.query_params.get(CONTEXT_FIELD, "") if request.method == "GET" else ""
    return raw or form_text(request, CONTEXT_FIELD)


def _resolved(request: Request, db: Session) -> Resolved | None:
    return resolve(db, settings_of(request).secret_key, _token(request))


def _actor(request: Request, resolved: Resolved | None) -> Actor:
    if resolved is not None and resolved.kiosk is not None:
        return Actor(ActorType.TERMINAL, resolved.kiosk.code, source_ip=client_address(request))
    return Actor(ActorType.CITIZEN, "help-widget", source_ip=client_address(request))


def _show(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """The screen `name` as a page, or as the widget's fragment (`_name.html`)."""
    locale = request.state.locale
    values = {
        "widget": wants_fragment(request),
        "ctx": _token(request),
        "locale": locale,
        "lang_query": str(QueryParams({"lang": locale})),
        "form_token": form_token(settings_of(request).secret_key),
        "back_query": _query(request),
        "contact_query": _query(request),
        "duplicate_query": _query(request, topic="duplicate"),
        **context,
    }
    return fragment_or_page(
        request,
        templates,
        f"support_widget/{name}.html",
        f"support_widget/_{name}.html",
        values,
        status_code=status_code,
        headers=NO_STORE,
    )


def _help(request: Request, db: Session, resolved: Resolved | None) -> dict[str, Any]:
    settings = settings_of(request)
    chosen = answers.choose(db, resolved, request.state.locale, settings.timezone)
    return {
        "answers": chosen,
        "questions": topics.questions(db),
        "kiosk": resolved.kiosk if resolved else None,
        "about": resolved.about if resolved else None,
    }


def _query(request: Request, **values: str) -> str:
    """The query of a link to another screen: the same context and language."""
    wanted = {CONTEXT_FIELD: _token(request), "lang": request.state.locale, **values}
    return str(QueryParams({k: v for k, v in wanted.items() if v}))


@page
@embeddable
def help_page(request: Request, db: Session) -> Response:
    resolved = _resolved(request, db)
    return _show(request, "help", _help(request, db, resolved))


def _form_defaults(request: Request) -> dict[str, str]:
    topic = request.query_params.get("topic", "")
    message = ""
    if topic == "duplicate":
        message = _("I think I was charged twice for this payment.")
    return {
        "language": request.state.locale,
        "method": "email",
        "topic": topic if topic in contact.TOPICS else "",
        "message": message,
    }


@page
@embeddable
def contact_form(request: Request, db: Session) -> Response:
    resolved = _resolved(request, db)
    return _show(
        request,
        "contact",
        {"form": _form_defaults(request), "errors": {}, "about": resolved and resolved.about},
    )


def _refused_form(request: Request) -> Response:
    return _show(request, "expired", {}, status_code=400)


@page
@embeddable
def contact_submit(request: Request, db: Session) -> Response:
    settings = settings_of(request)
    if not form_token_valid(settings.secret_key, form_text(request, "form_token")):
        return _refused_form(request)
    resolved = _resolved(request, db)
    form = {name: form_text(request, name) for name in contact.FIELDS}
    if form_text(request, contact.HONEYPOT):
        # A robot filled the field people never see: thank it, keep nothing.
        return _show(request, "received", {"asked": None})
    checked, errors = contact.check(form)
    shown_form = form | {"message": scrub(form["message"])}
    if checked is None:
        values = {"form": shown_form, "errors": errors, "about": resolved and resolved.about}
        return _show(request, "contact", values, status_code=422)
    kiosk = resolved.kiosk if resolved else None
    try:
        if kiosk is not None:
            rate_limit.hit(db, f"support-contact:kiosk:{kiosk.code}", CONTACT_PER_KIOSK)
        else:
            client = client_address(request)
            rate_limit.hit(db, f"support-contact:client:{client}", CONTACT_PER_CLIENT)
        if checked.contact.email:
            key = f"support-contact:email:{checked.contact.email.casefold()}"
            rate_limit.hit(db, key, CONTACT_PER_ADDRESS)
    except RateLimited as limited:
        message = _(
            "We have received several messages from here already. Try again in %(minutes)s "
            "minutes, or call us."
        ) % {"minutes": limited.minutes}
        values = {"form": shown_form, "errors": {"form": message}, "about": None}
        return _show(request, "contact", values, status_code=429)
    asked = support.open_request(
        db,
        _actor(request, resolved),
        channel=InteractionChannel.KIOSK if kiosk else InteractionChannel.WEB,
        # Money taken twice waits less than a question.
        priority=SupportPriority.HIGH if checked.topic == "duplicate" else SupportPriority.NORMAL,
        contact=checked.contact,
        message=checked.message,
        targets=sla.Targets.from_settings(settings),
        about=resolved.about if resolved else None,
        kiosk=kiosk,
        topic=checked.topic,
        unverified_reference=checked.unverified_reference,
    )
    return _show(request, "received", {"asked": asked})


@page
@embeddable
def email_receipt(request: Request, db: Session) -> Response:
    """Email the receipt of the page's payment to the address on file (never to one typed
    here: the page's reference proves what it is about, not who is asking)."""
    settings = settings_of(request)
    if not form_token_valid(settings.secret_key, form_text(request, "form_token")):
        return _refused_form(request)
    resolved = _resolved(request, db)
    payment = resolved.payment if resolved else None
    receipt = resolved.receipt if resolved else None
    on_file = payment and (
        payment.payer_email or (payment.customer.email if payment.customer else None)
    )
    if receipt is None or not on_file:
        # Whatever is missing (the context, the receipt, an address), the same answer.
        refused = _("This receipt cannot be emailed from here. Contact us instead.")
        return _show(request, "receipt_sent", {"refused": refused}, status_code=400)
    client = client_address(request)
    try:
        rate_limit.hit(db, f"support-receipt:client:{client}", RECEIPT_PER_CLIENT)
        rate_limit.hit(db, f"support-receipt:{receipt.receipt_number}", RECEIPT_PER_RECEIPT)
    except RateLimited as limited:
        refused = _(
            "This receipt has been emailed too many times. Try again in %(minutes)s minutes."
        ) % {"minutes": limited.minutes}
        return _show(request, "receipt_sent", {"refused": refused}, status_code=429)
    actor = _actor(request, resolved)
    send_receipt(db, receipt, on_file, request.state.locale, actor)
    audit.record(
        db,
        actor,
        audit.AuditAction.RECEIPT_EMAIL_REQUESTED,
        "receipt",
        receipt.receipt_number,
        {"to": "address on file", "via": "help widget"},
    )
    return _show(
        request,
        "receipt_sent",
        {
            "number": receipt.receipt_number,
            "masked": answers.mask_address(on_file),
            "refused": None,
        },
    )


@page
@embeddable
def call_for_help(request: Request, db: Session) -> Response:
    """A kiosk's "call for help": only from a page a kiosk signed with its terminal."""
    settings = settings_of(request)
    if not form_token_valid(settings.secret_key, form_text(request, "form_token")):
        return _refused_form(request)
    resolved = _resolved(request, db)
    kiosk = resolved.kiosk if resolved else None
    if resolved is None or kiosk is None:
        return _show(request, "expired", {}, status_code=400)
    try:
        rate_limit.hit(db, f"support-call:{kiosk.code}", CALLS_PER_TERMINAL)
    except RateLimited:
        return _show(request, "called", {"asked": None}, status_code=429)
    asked = support.call_for_help(
        db,
        _actor(request, resolved),
        terminal_code=kiosk.code,
        location=kiosk.location,
        targets=sla.Targets.from_settings(settings),
        about=resolved.about,
        locale=request.state.locale,
    )
    return _show(request, "called", {"asked": asked})
