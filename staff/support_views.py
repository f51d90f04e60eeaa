"""The support queue and a request's page (`tickets:work`).

The queue lists what residents asked through the help widget or a kiosk, most urgent
first, with filters, and refreshes itself (htmx polling) so a new request shows without
reloading. A request's page shows what the person wrote, what the server vouched for
(the payment, receipt or bill the page was about) live and read-only, and every action
in place (`staff.support_actions`). Department limits apply to both: a request filed
under another department is as unknown as a wrong reference.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.customers.visibility import Visible
from shared.db import utcnow
from shared.exceptions import queue as exception_queue
from shared.i18n import current_locale
from shared.i18n import gettext_ as _
from shared.interactions import contacts, queue, sla, support
from shared.models import (
    Account,
    Department,
    ExceptionKind,
    InteractionChannel,
    LinkKind,
    Payment,
    StaffUser,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)
from shared.payments.status import by_transaction_id, describe, receipt_of
from shared.web.endpoint import fragment_or_page, page
from staff.access import StaffContext, requires
from staff.interaction_views import channel_names, link_names, outcome_names
from staff.payment_views import display
from staff.templating import NO_STORE, templates
from staff.web import id_from, settings_of

PERMISSION = "tickets:work"
NOTICE = "staff_support_notice"
S = SupportStatus
STATUS_FILTERS = {"": sla.ACTIVE, "all": ()} | {status.value: (status,) for status in S}


def status_names() -> dict[str, str]:
    return {
        S.NEW: _("New"),
        S.OPEN: _("Open"),
        S.WAITING: _("Waiting on the customer"),
        S.RESOLVED: _("Resolved"),
        S.CLOSED: _("Closed"),
    }


def priority_names() -> dict[str, str]:
    return {
        SupportPriority.URGENT: _("Urgent"),
        SupportPriority.HIGH: _("High"),
        SupportPriority.NORMAL: _("Normal"),
        SupportPriority.LOW: _("Low"),
    }


def standing_names() -> dict[str, str]:
    return {
        sla.Standing.ON_TRACK: _("On track"),
        sla.Standing.AT_RISK: _("At risk"),
        sla.Standing.BREACHED: _("Breached"),
        sla.Standing.MET: _("Met"),
        sla.Standing.MISSED: _("Missed"),
    }


def topic_names() -> dict[str, str]:
    return {
        "duplicate": _("Possible duplicate charge"),
        "receipt": _("Receipt"),
        "call_for_help": _("Call for help at a kiosk"),
    }


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def targets(request: Request) -> sla.Targets:
    return sla.Targets.from_settings(settings_of(request))


def _filters(request: Request) -> tuple[queue.Filters, dict[str, str]]:
    params = request.query_params
    names = ("status", "priority", "channel", "department", "assignee", "sla")
    chosen = {name: params.get(name, "") for name in names}
    # What is not a valid choice is ignored, as if it had not been chosen.
    if chosen["status"] not in STATUS_FILTERS:
        chosen["status"] = ""
    if chosen["priority"] not in set(SupportPriority):
        chosen["priority"] = ""
    if chosen["channel"] not in (InteractionChannel.WEB, InteractionChannel.KIOSK):
        chosen["channel"] = ""
    if chosen["sla"] not in ("at_risk", "breached"):
        chosen["sla"] = ""
    assignee: str | int | None = None
    if chosen["assignee"] in ("me", "nobody"):
        assignee = chosen["assignee"]
    elif (someone := id_from(chosen["assignee"])) is not None:
        assignee = someone
    else:
        chosen["assignee"] = ""
    department = id_from(chosen["department"])
    if department is None:
        chosen["department"] = ""
    return (
        queue.Filters(
            statuses=STATUS_FILTERS[chosen["status"]],
            priority=SupportPriority(chosen["priority"]) if chosen["priority"] else None,
            channel=InteractionChannel(chosen["channel"]) if chosen["channel"] else None,
            department_id=department,
            assignee=assignee,
            sla=chosen["sla"] or None,
        ),
        chosen,
    )


def workers(db: Session) -> list[StaffUser]:
    return list(
        db.scalars(
            select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.display_name)
        )
    )


def _names(request: Request) -> dict[str, Any]:
    return {
        "statuses": status_names(),
        "priorities": priority_names(),
        "standings": standing_names(),
        "channels": channel_names(),
        "topics": topic_names(),
    }


@page
@requires(PERMISSION)
def support_queue(request: Request, db: Session) -> Response:
    staff = _staff(request)
    filters, chosen = _filters(request)
    offset = id_from(request.query_params.get("offset", "")) or 0
    now = utcnow()
    rows, more = queue.page(db, filters, staff.user.id, staff.visible(), offset, now)
    context: dict[str, Any] = {
        **display(request),
        **_names(request),
        "rows": rows,
        "clocks": {row.request.id: sla.clock(row.request, now) for row in rows},
        "chosen": chosen,
        "departments": db.scalars(select(Department).order_by(Department.name)).all(),
        "workers": workers(db),
        "next_offset": offset + queue.PAGE if more else None,
        "query": str(QueryParams({k: v for k, v in chosen.items() if v})),
        "more_query": str(QueryParams({**chosen, "offset": offset + queue.PAGE})),
    }
    return fragment_or_page(
        request, templates, "staff/support/queue.html", "queue", context, headers=NO_STORE
    )


def visible_request(request: Request, db: Session) -> SupportRequest:
    """The request of the path if this member of staff may see it, else 404."""
    found = support.get(db, request.path_params["reference"])
    if found is None:
        raise HTTPException(404)
    allowed = queue.visible_conditions(_staff(request).visible())
    if allowed and not db.scalar(
        select(SupportRequest.id).where(SupportRequest.id == found.id, *allowed)
    ):
        raise HTTPException(404)
    return found


def _live_context(request: Request, db: Session, asked: SupportRequest) -> dict[str, Any]:
    """What the request is about, as it stands now, within what this person may see."""
    staff = _staff(request)
    visible = staff.visible()
    interaction = asked.interaction
    links = contacts.visible_links(db, interaction, visible)
    payments: list[dict[str, Any]] = []
    settings = settings_of(request)
    for link in links:
        if link.kind is not LinkKind.PAYMENT:
            continue
        payment = by_transaction_id(db, link.reference)
        if payment is None:
            continue
        duplicates = [
            case
            for case in exception_queue.open_for_payment(db, payment)
            if case.kind is ExceptionKind.POSSIBLE_DUPLICATE
        ]
        payments.append(
            {
                "payment": payment,
                "report": describe(payment, current_locale.get(), settings.timezone),
                "receipt": receipt_of(db, payment),
                "duplicates": duplicates,
                "on_file": payment.payer_email
                or (payment.customer.email if payment.customer else None),
            }
        )
    accounts: list[Account] = []
    earlier: list[contacts.Listed] = []
    if interaction.customer_id is not None:
        statement = select(Account).where(Account.customer_id == interaction.customer_id)
        if visible.customers is not None:
            statement = statement.where(Account.department_id.in_(visible.customers))
        accounts = list(db.scalars(statement.order_by(Account.account_number)))
        earlier = [
            listed
            for listed in contacts.page_for_customer(db, interaction.customer_id)[0]
            if listed.interaction.id != interaction.id
        ]
    return {
        "links": links,
        "payments": payments,
        "accounts": accounts,
        "earlier_interactions": earlier,
        "earlier_requests": queue.earlier(db, asked),
        "currency": settings.currency,
    }


def request_context(
    request: Request,
    db: Session,
    asked: SupportRequest,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    now = utcnow()
    people = {
        user.id: user.display_name
        for user in db.scalars(
            select(StaffUser).where(
                StaffUser.id.in_({e.staff_user_id for e in asked.events if e.staff_user_id})
            )
        )
    }
    return {
        **display(request),
        **_names(request),
        **_live_context(request, db, asked),
        "asked": asked,
        "interaction": asked.interaction,
        "clock": sla.clock(asked, now),
        "history": asked.events,
        "people": people,
        "workers": workers(db),
        "outcomes": outcome_names(),
        "link_kinds": link_names(),
        "department": db.get(Department, asked.department_id) if asked.department_id else None,
        "errors": errors or {},
        "form": form or {},
        "notice": request.session.pop(NOTICE, None),
        "active": asked.status in sla.ACTIVE,
    }


@page
@requires(PERMISSION)
def support_request(request: Request, db: Session) -> Response:
    asked = visible_request(request, db)
    context = request_context(request, db, asked)
    return fragment_or_page(
        request, templates, "staff/support/request.html", "context", context, headers=NO_STORE
    )


def payment_of(db: Session, asked: SupportRequest, visible: Visible) -> Payment | None:
    """The first payment the request is linked to that this person may see."""
    for link in contacts.visible_links(db, asked.interaction, visible):
        if link.kind is LinkKind.PAYMENT:
            return by_transaction_id(db, link.reference)
    return None
