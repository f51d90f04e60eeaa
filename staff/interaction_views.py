"""Interactions: start one from the customer view, or from anywhere with whatever number
the caller reads out (the staff menu, a payment's page), or without a customer while the
caller cannot be identified (set later), write notes, attach what it was about, set the
outcome, schedule a follow-up, end it. Reading needs `customers:view`; every
change needs `notes:write` and is audited by `shared.interactions.contacts`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, object_session
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.customers.search import Cursor
from shared.i18n import gettext_ as _
from shared.interactions import contacts, support
from shared.interactions.contacts import InteractionRefused
from shared.models import Customer, Interaction, InteractionChannel, LinkKind, Outcome
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.customer_views import sees_customer, visible_customer
from staff.payment_views import display
from staff.templating import render, templates
from staff.web import form_text, redirect_to, settings_of

READ = "customers:view"
WRITE = "notes:write"
HISTORY_PAGE = 20


STARTABLE = (InteractionChannel.CALL, InteractionChannel.COUNTER, InteractionChannel.EMAIL)


def channel_names() -> dict[str, str]:
    return {
        InteractionChannel.CALL: _("Phone call"),
        InteractionChannel.COUNTER: _("At the counter"),
        InteractionChannel.EMAIL: _("Email"),
        InteractionChannel.WEB: _("Help widget"),
        InteractionChannel.KIOSK: _("Kiosk"),
    }


def startable_channels() -> dict[str, str]:
    """What staff start an interaction as (widget and kiosk requests arrive by themselves)."""
    names = channel_names()
    return {channel: names[channel] for channel in STARTABLE}


def _channel(request: Request) -> InteractionChannel:
    chosen = form_text(request, "channel") or InteractionChannel.CALL
    if chosen not in STARTABLE:
        raise HTTPException(400, "Unknown channel")
    return InteractionChannel(chosen)


def outcome_names() -> dict[str, str]:
    return {
        Outcome.RESOLVED: _("Resolved"),
        Outcome.CALLBACK: _("Call back"),
        Outcome.ESCALATED: _("Escalated"),
        Outcome.NO_ACTION: _("No action needed"),
    }


def link_names() -> dict[str, str]:
    return {
        LinkKind.PAYMENT: _("Payment (transaction ID)"),
        LinkKind.RECEIPT: _("Receipt"),
        LinkKind.INVOICE: _("Invoice"),
    }


# The customer view includes staff/customer/_counter_panel.html with the customer in
# context; the panel reads the recent interactions through the customer's own session.
templates.env.globals.update(
    interaction_page=lambda customer: _first_page(_session_of(customer), customer.id),
    interaction_channel_names=channel_names,
    interaction_startable_channels=startable_channels,
    interaction_outcome_names=outcome_names,
)


def _older(cursor: Cursor | None) -> str | None:
    """The query string of the next (older) page, or None on the last."""
    return str(QueryParams({"after": cursor.encode()})) if cursor else None


def _first_page(db: Session, customer_id: int) -> tuple[list[contacts.Listed], str | None]:
    listed, cursor = contacts.page_for_customer(db, customer_id)
    return listed, _older(cursor)


@page
@requires(READ)
def customer_history(request: Request, db: Session) -> Response:
    """Every interaction with one customer, a page at a time, newest first."""
    customer = visible_customer(request, db)
    raw = request.query_params.get("after", "")
    after = Cursor.decode(raw) if raw else None
    listed, cursor = contacts.page_for_customer(db, customer.id, after, HISTORY_PAGE)
    context: dict[str, Any] = {
        "customer": customer,
        "listed": listed,
        "older": _older(cursor),
        "paged": after is not None,
        **display(request),
    }
    return render(request, "staff/interactions/history.html", context)


def _session_of(loaded: Customer | Interaction) -> Session:
    """The session a page's object was loaded in (templates and helpers read through it)."""
    session = object_session(loaded)
    if session is None:
        raise RuntimeError(f"{loaded!r} must be loaded from the database")
    return session


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def today(request: Request) -> dt.date:
    """Today in the organisation's time zone (follow-ups are due on its dates)."""
    return dt.datetime.now(ZoneInfo(settings_of(request).timezone)).date()


def _interaction(db: Session, request: Request) -> Interaction:
    """The interaction of the path, or 404: also when its customer is outside the
    departments of someone limited to some (one with no customer yet is anyone's)."""
    found = contacts.get(db, request.path_params["interaction_id"])
    if found is None or (
        found.customer_id is not None
        and not sees_customer(db, _staff(request).visible(), found.customer_id)
    ):
        raise HTTPException(404)
    return found


def _page(
    request: Request,
    interaction: Interaction,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    links = contacts.visible_links(_session_of(interaction), interaction, _staff(request).visible())
    context: dict[str, Any] = {
        "interaction": interaction,
        "links": links,
        "errors": errors or {},
        "form": form or {},
        "channels": channel_names(),
        "outcomes": outcome_names(),
        "link_kinds": link_names(),
        "today": today(request),
        **display(request),
    }
    return render(request, "staff/interactions/interaction.html", context, status_code=status_code)


@page
@requires(WRITE)
def start(request: Request, db: Session) -> Response:
    customer = visible_customer(request, db)
    interaction = contacts.start(db, _staff(request).actor, customer, _channel(request))
    return redirect_to(request, "staff:interaction", interaction_id=interaction.id)


def _new_page(
    request: Request, form: dict[str, str], errors: dict[str, str] | None = None
) -> Response:
    context = {"channels": startable_channels(), "form": form, "errors": errors or {}}
    status_code = 422 if errors else 200
    return render(request, "staff/interactions/new.html", context, status_code=status_code)


@page
@requires(WRITE)
def new(request: Request, db: Session) -> Response:
    """The form: a channel, and the number the caller reads out (prefilled by `?about=`)."""
    about = request.query_params.get("about", "")[: contacts.ABOUT_MAX_LENGTH]
    return _new_page(request, {"about": about})


@page
@requires(WRITE)
def start_about(request: Request, db: Session) -> Response:
    form = {"channel": form_text(request, "channel"), "about": form_text(request, "about")}
    channel = _channel(request)
    if form_text(request, "unidentified"):
        # The caller has no number to hand and cannot be found yet: notes cannot wait.
        interaction = contacts.start(db, _staff(request).actor, None, channel)
        return redirect_to(request, "staff:interaction", interaction_id=interaction.id)
    if not form["about"]:
        return _new_page(request, form, {"about": _("Enter the number the caller reads out.")})
    try:
        staff = _staff(request)
        interaction = contacts.start_about(db, staff.actor, form["about"], channel, staff.visible())
    except InteractionRefused as refused:
        db.rollback()
        return _new_page(request, form, {refused.field: refused.message})
    return redirect_to(request, "staff:interaction", interaction_id=interaction.id)


@page
@requires(READ)
def detail(request: Request, db: Session) -> Response:
    interaction = _interaction(db, request)
    asked = support.of_interaction(db, interaction.id)
    if asked is not None:
        # A support request is worked on its own page: the queue's actions, the context.
        return redirect_to(request, "staff:support_request", reference=asked.reference)
    return _page(request, interaction)


def _change(
    request: Request, db: Session, act: Callable[[Interaction], None], form: dict[str, str]
) -> Response:
    """Make one change; back to the page, or the page again with what went wrong."""
    interaction = _interaction(db, request)
    try:
        act(interaction)
    except InteractionRefused as refused:
        db.rollback()
        interaction = _interaction(db, request)
        return _page(request, interaction, {refused.field: refused.message}, form, 422)
    return redirect_to(request, "staff:interaction", interaction_id=interaction.id)


@page
@requires(WRITE)
def add_note(request: Request, db: Session) -> Response:
    # Not kept for the form on an error: it may hold the card number being refused.
    text = request.state.form.get("text")
    text = text if isinstance(text, str) else ""
    actor = _staff(request).actor

    def act(interaction: Interaction) -> None:
        contacts.add_note(db, actor, interaction, text)

    return _change(request, db, act, {})


@page
@requires(WRITE)
def identify(request: Request, db: Session) -> Response:
    about = form_text(request, "customer")
    actor = _staff(request).actor

    def act(interaction: Interaction) -> None:
        if not about:
            raise InteractionRefused("customer", _("Enter a number of the caller's."))
        contacts.identify(db, actor, interaction, about, _staff(request).visible())

    return _change(request, db, act, {"customer": about})


@page
@requires(WRITE)
def attach(request: Request, db: Session) -> Response:
    kind_text = form_text(request, "kind")
    reference = form_text(request, "reference")
    actor = _staff(request).actor

    def act(interaction: Interaction) -> None:
        try:
            kind = LinkKind(kind_text)
        except ValueError:
            raise InteractionRefused("link-kind", _("Choose what to attach.")) from None
        contacts.attach(db, actor, interaction, kind, reference, _staff(request).visible())

    return _change(request, db, act, {"kind": kind_text, "reference": reference})


@page
@requires(WRITE)
def set_outcome(request: Request, db: Session) -> Response:
    chosen = form_text(request, "outcome")
    actor = _staff(request).actor

    def act(interaction: Interaction) -> None:
        try:
            outcome = Outcome(chosen)
        except ValueError:
            raise InteractionRefused("outcome", _("Choose an outcome from the list.")) from None
        contacts.set_outcome(db, actor, interaction, outcome)

    return _change(request, db, act, {"outcome": chosen})


@page
@requires(WRITE)
def follow_up(request: Request, db: Session) -> Response:
    due_text = form_text(request, "due")
    actor = _staff(request).actor
    due_by = today(request)

    def act(interaction: Interaction) -> None:
        try:
            due = dt.date.fromisoformat(due_text)
        except ValueError:
            raise InteractionRefused(
                "follow-up-due", _("Enter the follow-up date, like 2030-01-31.")
            ) from None
        contacts.schedule_follow_up(db, actor, interaction, due, due_by)

    return _change(request, db, act, {"due": due_text})


@page
@requires(WRITE)
def follow_up_done(request: Request, db: Session) -> Response:
    actor = _staff(request).actor
    return _change(request, db, lambda i: contacts.complete_follow_up(db, actor, i), {})


@page
@requires(WRITE)
def end(request: Request, db: Session) -> Response:
    actor = _staff(request).actor
    return _change(request, db, lambda i: contacts.end(db, actor, i), {})
