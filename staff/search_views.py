"""Find anything: one box for any identifier, a name, an email, a phone number or
"card last 4 + amount"; payment filters in the URL; every matching payment as CSV."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from shared.customers import identifier_search, search
from shared.customers.search import Cursor, CustomerMatch, Filters, PaymentRow, PaymentSearch
from shared.exceptions import queue
from shared.i18n import current_locale
from shared.i18n import gettext_ as _
from shared.interactions import queue as support_queue
from shared.local_time import in_zone
from shared.models import Channel, Department, PaymentStatus, SupportRequest, Terminal
from shared.money import Money, MoneyError, parse_money
from shared.search_terms import has_control_characters
from shared.web.endpoint import fragment_or_page, page, wants_fragment
from staff.access import StaffContext, requires
from staff.csv_export import csv_line
from staff.payment_views import display
from staff.templating import NO_STORE, templates
from staff.web import id_from, settings_of

CSV_BATCH = 1000
FILTER_NAMES = ("department", "channel", "status", "from", "to", "min", "max", "terminal")


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search as the URL carries it: what was typed, the filters, and what was wrong."""

    values: dict[str, str]
    search: PaymentSearch
    errors: dict[str, str]
    cursor: Cursor | None


def read_form(request: Request, params: QueryParams) -> SearchForm:
    settings = settings_of(request)
    locale = current_locale.get()
    values = {name: params.get(name, "").strip() for name in ("q", *FILTER_NAMES)}
    errors: dict[str, str] = {}
    staff: StaffContext = request.state.staff

    def amount(name: str, field_id: str) -> int | None:
        if not values[name]:
            return None
        try:
            minor = parse_money(values[name], settings.currency, locale).minor
        except MoneyError:
            errors[field_id] = _("Enter the amount as a number, like 125.50.")
            return None
        if abs(minor) > search.BIGINT_MAX:
            errors[field_id] = _("That amount is too large to search for.")
            return None
        return minor

    def day(name: str, field_id: str) -> dt.date | None:
        if not values[name]:
            return None
        try:
            return dt.date.fromisoformat(values[name])
        except ValueError:
            errors[field_id] = _("Enter the date as YYYY-MM-DD, like 2026-03-31.")
            return None

    if has_control_characters(values["q"]):
        errors["search-q"] = _("The search holds an invisible control character. Type it again.")
    channel = values["channel"] if values["channel"] in set(Channel) else None
    if values["channel"] and channel is None:
        errors["filter-channel"] = _("Choose a channel from the list.")
    status = values["status"] if values["status"] in set(PaymentStatus) else None
    if values["status"] and status is None:
        errors["filter-status"] = _("Choose a payment status from the list.")
    department = id_from(values["department"])
    if values["department"] and department is None:
        errors["filter-department"] = _("Choose a department from the list.")
    terminal = id_from(values["terminal"])
    if values["terminal"] and terminal is None:
        errors["filter-terminal"] = _("Choose a terminal from the list.")
    filters = Filters(
        department_id=department,
        channel=Channel(channel) if channel else None,
        status=PaymentStatus(status) if status else None,
        date_from=day("from", "filter-from"),
        date_to=day("to", "filter-to"),
        min_amount=amount("min", "filter-min"),
        max_amount=amount("max", "filter-max"),
        terminal_id=terminal,
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors["filter-to"] = _("The end date must be on or after the start date.")
    after = params.get("after", "")
    cursor = Cursor.decode(after) if after else None
    payment_search = PaymentSearch(
        text=values["q"],
        filters=filters,
        visible=staff.visible(),
        currency=settings.currency,
        locale=locale,
        timezone=settings.timezone,
    )
    return SearchForm(values, payment_search, errors, cursor)


def _jump_url(request: Request, jump: identifier_search.Jump) -> str:
    if jump.kind == "payment":
        return str(request.url_for("staff:payment", transaction_id=jump.transaction_id))
    url = str(request.url_for("staff:customer", customer_id=jump.customer_id))
    return f"{url}#{jump.anchor}" if jump.anchor else url


def _redirect(request: Request, url: str) -> Response:
    if wants_fragment(request):
        # htmx would swap the record into the results; have it load the page instead.
        return HTMLResponse("", headers=NO_STORE | {"HX-Redirect": url})
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def _query_with(form: SearchForm, **changes: str) -> str:
    kept = {k: v for k, v in form.values.items() if v}
    kept.update({k: v for k, v in changes.items() if v})
    return str(QueryParams(kept))


_SUPPORT_REFERENCE = re.compile(r"S-?\d{4}-?\d{6,10}")


def _support_request(db: Session, staff: StaffContext, text: str) -> str | None:
    """The support reference a caller reads out (S-2026-000123, dashes optional), if it is
    one this member of staff works and may see."""
    cleaned = text.strip().upper().replace(" ", "")
    if not staff.can("tickets:work") or not _SUPPORT_REFERENCE.fullmatch(cleaned):
        return None
    digits = cleaned.removeprefix("S").replace("-", "")
    reference = f"S-{digits[:4]}-{digits[4:]}"
    found = db.scalar(
        select(SupportRequest.reference).where(
            SupportRequest.reference == reference,
            *support_queue.visible_conditions(staff.visible()),
        )
    )
    return found


@page
@requires("customers:view")
def search_page(request: Request, db: Session) -> Response:
    form = read_form(request, request.query_params)
    text = form.values["q"]
    staff: StaffContext = request.state.staff
    # Someone limited to some departments finds nothing of the others': not even, from a
    # jump to a record they cannot open, that it exists.
    visible = form.search.visible
    if text and form.cursor is None and not form.errors:
        asked = _support_request(db, staff, text)
        if asked is not None:
            return _redirect(
                request, str(request.url_for("staff:support_request", reference=asked))
            )
        jump = identifier_search.identify(db, text, visible)
        if jump is not None:
            return _redirect(request, _jump_url(request, jump))
    # Matched once: the same customers are listed and have their payments searched.
    match = (
        search.match_customers(db, text, visible=visible)
        if text and not form.errors
        else CustomerMatch()
    )
    customers = search.customer_hits(db, match.ids, visible)
    close = search.customer_hits(db, match.close, visible)
    terminals = db.scalars(select(Terminal).order_by(Terminal.code)).all()
    results = (
        search.payment_page(db, replace(form.search, customers=match.ids), form.cursor)
        if not form.errors and staff.can("payments:view")
        else search.PaymentPage([], None)
    )
    departments = db.scalars(select(Department).order_by(Department.name)).all()
    context: dict[str, Any] = {
        **display(request),
        "values": form.values,
        "errors": form.errors,
        "searched": form.search.wanted and not form.errors,
        "customers": customers,
        "customers_capped": match.more,
        "close_customers": close,
        "payments": results.rows,
        "duplicates": queue.possible_duplicates(
            db, [row.payment.transaction_id for row in results.rows]
        ),
        "next_query": _query_with(form, after=results.next.encode()) if results.next else None,
        "first_query": _query_with(form) if form.cursor else None,
        "csv_query": _query_with(form),
        "departments": [
            d for d in departments if visible.payments is None or d.id in visible.payments
        ],
        # Every registered terminal, kiosks and counters, in the filter and the results.
        "terminals": terminals,
        "terminal_codes": {t.id: t.code for t in terminals},
        "channels": list(Channel),
        "statuses": list(PaymentStatus),
    }
    status = 422 if form.errors else 200
    return fragment_or_page(
        request,
        templates,
        "staff/search/search.html",
        "results",
        context,
        status_code=status,
        headers=NO_STORE,
    )


CSV_HEADER = (
    "transaction_id",
    # In PAYDESK_TIMEZONE with its offset, the zone named in the next column.
    "created_at",
    "time_zone",
    "status",
    "amount",
    "currency",
    "channel",
    "tender",
    "card_brand",
    "card_last4",
    "customer_number",
    "customer_name",
    "receipt_number",
    "terminal_id",
)


def csv_lines(factory: sessionmaker[Session], payment_search: PaymentSearch) -> Iterator[str]:
    yield csv_line(CSV_HEADER)
    for batch in search.payment_batches(factory, payment_search, CSV_BATCH):
        yield "".join(csv_line(_csv_values(row, payment_search.timezone)) for row in batch)


def _csv_values(row: PaymentRow, timezone: str) -> tuple[object, ...]:
    p, c = row.payment, row.customer
    return (
        p.transaction_id,
        in_zone(p.created_at, timezone).isoformat(),
        timezone,
        p.status.value,
        Money(p.amount, p.currency).plain(),
        p.currency,
        p.channel.value,
        p.tender.value,
        p.card_brand,
        p.card_last4,
        c.customer_number if c else None,
        c.name if c else None,
        row.receipt_number,
        p.terminal_id,
    )


@page
@requires("payments:view")
def search_csv(request: Request, db: Session) -> Response:
    form = read_form(request, request.query_params)
    if form.errors:
        return HTMLResponse(" ".join(form.errors.values()), 422, headers=NO_STORE)
    factory: sessionmaker[Session] = request.app.state.db
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    headers = NO_STORE | {"Content-Disposition": f'attachment; filename="payments-{stamp}.csv"'}
    return StreamingResponse(
        csv_lines(factory, form.search), media_type="text/csv; charset=utf-8", headers=headers
    )
