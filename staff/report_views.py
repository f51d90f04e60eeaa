"""The daily totals report: posted money per day by department, channel, tender or
terminal over a period, as a server-drawn SVG bar chart with the same figures in a table,
and as CSV; card payments not settled yet; open exceptions by age (`reports:view`, within
the reader's departments).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from shared.db import utcnow
from shared.finance import journal, reports
from shared.i18n import gettext_ as _
from shared.money import Money
from shared.web.endpoint import page
from staff.access import requires
from staff.csv_export import csv_line
from staff.finance_views import common_context, staff_context
from staff.ledger_views import day_of
from staff.templating import render
from staff.web import settings_of

# -- reports ---------------------------------------------------------------------------


def dimension_names() -> dict[str, str]:
    return {
        "department": _("Department"),
        "channel": _("Channel"),
        "tender": _("Tender"),
        "terminal": _("Terminal"),
    }


def age_names() -> dict[str, str]:
    return {
        "day": _("Less than a day"),
        "week": _("A day to a week"),
        "older": _("More than a week"),
    }


def _period(request: Request) -> tuple[dt.date, dt.date, str, dict[str, str]]:
    """The report's period and grouping from the address, with what is wrong in it."""
    today = journal.local_day(utcnow(), settings_of(request).timezone)
    params = request.query_params
    errors: dict[str, str] = {}
    first = day_of(params.get("from", ""), today - dt.timedelta(days=6))
    last = day_of(params.get("to", ""), today)
    if first is None or last is None:
        errors["report-from"] = _("Enter the days like 2026-03-14.")
        first, last = today - dt.timedelta(days=6), today
    elif first > last:
        errors["report-from"] = _("The first day must not be after the last day.")
        first = last
    elif (last - first).days >= reports.MOST_DAYS:
        errors["report-from"] = _("Choose at most a year.")
        first = last - dt.timedelta(days=reports.MOST_DAYS - 1)
    by = params.get("by", "department")
    if by not in reports.DIMENSIONS:
        errors["report-by"] = _("Choose how to group the totals.")
        by = "department"
    return first, last, by, errors


@page
@requires("reports:view")
def report(request: Request, db: Session) -> Response:
    staff = staff_context(request)
    settings = settings_of(request)
    first, last, by, errors = _period(request)
    departments = staff.permissions.departments_for("reports:view")
    totals = reports.daily_totals(db, first, last, by, settings.timezone, departments)
    summed = reports.by_key(totals)
    context: dict[str, Any] = {
        **common_context(request),
        "first": first,
        "last": last,
        "by": by,
        "dimensions": dimension_names(),
        "totals": totals,
        "summed": summed,
        "bars": reports.bars(summed),
        "chart_width": reports.CHART_WIDTH,
        "label_width": reports.LABEL_WIDTH,
        "bar_height": reports.BAR_HEIGHT,
        "grand_total": sum(amount for _key, amount in summed),
        "unsettled": reports.unsettled(db, departments),
        "ages": reports.exceptions_by_age(db) if staff.can("exceptions:work") else None,
        "age_names": age_names(),
        "errors": errors,
        "csv_query": f"from={first.isoformat()}&to={last.isoformat()}&by={by}",
    }
    return render(request, "staff/finance/reports.html", context, 422 if errors else 200)


@page
@requires("reports:view")
def report_csv(request: Request, db: Session) -> Response:
    staff = staff_context(request)
    settings = settings_of(request)
    first, last, by, errors = _period(request)
    if errors:
        return Response(" ".join(errors.values()), status_code=422, media_type="text/plain")
    totals = reports.daily_totals(
        db, first, last, by, settings.timezone, staff.permissions.departments_for("reports:view")
    )
    lines = [csv_line(("day", by, "payments", "amount", "currency"))]
    lines += [
        csv_line(
            (
                t.day.isoformat(),
                t.key,
                t.payments,
                Money(t.amount, settings.currency).plain(),
                settings.currency,
            )
        )
        for t in totals
    ]
    name = f"totals-by-{by}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
