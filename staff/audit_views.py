"""The audit trail for auditors (`audit:view`): the whole log with filters (actor, action,
object, dates), a customer's trail, the chain's verification, and the filtered log as a
streamed CSV. The payment page shows each payment's own trail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shared import audit, audit_log
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    ApprovalRequest,
    AuditChainHead,
    Customer,
    ExceptionCase,
    Interaction,
    Payment,
    Receipt,
)
from shared.web.endpoint import page
from staff.access import requires
from staff.csv_export import csv_line
from staff.customer_views import visible_customer
from staff.payment_views import display
from staff.templating import NO_STORE, render
from staff.web import id_from, settings_of

PERMISSION = "audit:view"
FIELDS = ("actor", "action", "object_type", "object_id", "from", "to")
# A customer's trail covers their most recent payments (and their receipts).
CUSTOMER_PAYMENTS = 500
CSV_HEADER = (
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "details",
    "reason",
    "source_ip",
    "hash",
)


def _day(text: str, zone: ZoneInfo) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def read_filter(request: Request) -> tuple[audit_log.LogFilter, dict[str, str], dict[str, str]]:
    """The filter typed in the query string, what was typed, and what was wrong with it."""
    params = request.query_params
    typed = {name: params.get(name, "").strip()[:120] for name in FIELDS}
    zone = ZoneInfo(settings_of(request).timezone)
    errors: dict[str, str] = {}
    since = _day(typed["from"], zone) if typed["from"] else None
    until = _day(typed["to"], zone) if typed["to"] else None
    if typed["from"] and since is None:
        errors["audit-from"] = _("Enter the date as YYYY-MM-DD.")
    if typed["to"] and until is None:
        errors["audit-to"] = _("Enter the date as YYYY-MM-DD.")
    chosen = audit_log.LogFilter(
        actor=typed["actor"] or None,
        action=typed["action"] or None,
        object_type=typed["object_type"] or None,
        object_id=typed["object_id"] or None,
        since=since,
        until=until + dt.timedelta(days=1) if until else None,
    )
    return chosen, typed, errors


def _log_page(
    request: Request,
    db: Session,
    chosen: audit_log.LogFilter,
    typed: dict[str, str],
    errors: dict[str, str],
    title: str,
    **extra: Any,
) -> Response:
    before = id_from(request.query_params.get("before", ""))
    events, next_before = audit_log.page(db, chosen, before) if not errors else ([], None)
    head = db.get(AuditChainHead, 1)
    context: dict[str, Any] = {
        **display(request),
        "title": title,
        "events": events,
        "typed": typed,
        "errors": errors,
        "more": str(QueryParams({**typed, "before": str(next_before)})) if next_before else None,
        "csv_query": str(QueryParams(typed)),
        "head": head,
        **extra,
    }
    return render(request, "staff/audit/log.html", context, 422 if errors else 200)


@page
@requires(PERMISSION)
def audit_log_page(request: Request, db: Session) -> Response:
    chosen, typed, errors = read_filter(request)
    return _log_page(request, db, chosen, typed, errors, _("Audit trail"), verified=None)


@page
@requires(PERMISSION)
def audit_verify(request: Request, db: Session) -> Response:
    """Walk the whole chain now and say whether it holds (what `paydesk audit verify`
    does), with the log below."""
    result = audit.verify(db)
    chosen, typed, errors = read_filter(request)
    return _log_page(request, db, chosen, typed, errors, _("Audit trail"), verified=result)


def _csv_lines(factory: sessionmaker[Session], chosen: audit_log.LogFilter) -> Iterator[str]:
    yield csv_line(CSV_HEADER)
    for batch in audit_log.batches(factory, chosen):
        yield "".join(
            csv_line(
                (
                    e.seq,
                    e.at.astimezone(dt.UTC).isoformat(),
                    e.actor_type,
                    e.actor_id,
                    e.action,
                    e.object_type,
                    e.object_id,
                    json.dumps(e.details, sort_keys=True, ensure_ascii=False),
                    e.reason,
                    e.source_ip,
                    e.hash,
                )
            )
            for e in batch
        )


@page
@requires(PERMISSION)
def audit_csv(request: Request, db: Session) -> Response:
    chosen, _typed, errors = read_filter(request)
    if errors:
        return Response(" ".join(errors.values()), 422, headers=NO_STORE)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    headers = NO_STORE | {"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'}
    return StreamingResponse(
        _csv_lines(request.app.state.db, chosen),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


def customer_objects(db: Session, customer: Customer) -> list[tuple[str, str]]:
    """What a customer's trail is about: them, their accounts, their latest payments and
    receipts, the interactions, exceptions and approval requests about them."""
    objects = [("customer", str(customer.id))]
    objects += [
        ("account", number)
        for number in db.scalars(
            select(Account.account_number).where(Account.customer_id == customer.id)
        )
    ]
    payments = db.execute(
        select(Payment.id, Payment.transaction_id)
        .where(Payment.customer_id == customer.id)
        .order_by(Payment.id.desc())
        .limit(CUSTOMER_PAYMENTS)
    ).all()
    objects += [("payment", tx) for _id, tx in payments]
    objects += [
        ("receipt", number)
        for number in db.scalars(
            select(Receipt.receipt_number).where(Receipt.payment_id.in_([i for i, _ in payments]))
        )
    ]
    for kind, model in (
        ("interaction", Interaction),
        ("exception", ExceptionCase),
        ("approval", ApprovalRequest),
    ):
        objects += [
            (kind, str(ident))
            for ident in db.scalars(select(model.id).where(model.customer_id == customer.id))
        ]
    return objects


@page
@requires(PERMISSION)
def customer_audit(request: Request, db: Session) -> Response:
    customer = visible_customer(request, db)
    chosen, typed, errors = read_filter(request)
    objects = customer_objects(db, customer)
    scoped = dataclasses.replace(chosen, objects=tuple(objects))
    return _log_page(
        request,
        db,
        scoped,
        typed,
        errors,
        _("Audit trail of %(name)s") % {"name": customer.name},
        verified=None,
        customer=customer,
    )
