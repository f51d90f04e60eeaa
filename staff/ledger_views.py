"""The general-ledger journal of a day (written and pending entries, balanced or not),
its export that closes the days, the stored exports and their downloads, and a journal
entry with the payments behind it and their deposits (the trail). Reading needs
`reports:view`; exporting and downloading `exports:gl`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared import audit
from shared.card_numbers import scrub
from shared.db import utcnow
from shared.finance import deposits, journal
from shared.finance.journal import JournalError
from shared.i18n import gettext_ as _
from shared.models import Department, DrawerSession, GlEntry, GlExport, GlSource, StaffUser
from shared.web.endpoint import page, writes_on_get
from staff.access import requires
from staff.finance_views import NOTICE, common_context, gl_accounts, staff_context
from staff.templating import render
from staff.web import form_text, redirect_to

# -- the journal -----------------------------------------------------------------------


def day_of(text: str, default: dt.date) -> dt.date | None:
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _journal_page(
    request: Request,
    db: Session,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    accounts = gl_accounts(request)
    today = journal.local_day(utcnow(), accounts.timezone)
    errors = dict(errors or {})
    day = day_of(request.query_params.get("day", ""), today)
    if day is None:
        errors["journal-day"] = _("Enter a day like 2026-03-14.")
        day = today
    entries = journal.preview(db, accounts, day, day)
    try:
        debits, credits = journal.check_balanced(entries)
        balanced = True
    except JournalError:
        debits = sum(ln.debit for e in entries for ln in e.lines)
        credits = sum(ln.credit for e in entries for ln in e.lines)
        balanced = False
    departments = dict(db.execute(select(Department.id, Department.code)).all())
    staff = staff_context(request)
    yesterday = today - dt.timedelta(days=1)
    context: dict[str, Any] = {
        **common_context(request),
        "day": day,
        "entries": entries,
        "debits": debits,
        "credits": credits,
        "balanced": balanced,
        "closed": journal.is_closed(db, day),
        "departments": departments,
        "exports": db.scalars(select(GlExport).order_by(GlExport.first_day.desc()).limit(20)).all()
        if staff.can("exports:gl")
        else [],
        "may_export": staff.can("exports:gl"),
        "errors": errors,
        "values": values or {"first": yesterday.isoformat(), "last": yesterday.isoformat()},
        "accounts": accounts,
    }
    return render(request, "staff/finance/journal.html", context, 422 if errors else 200)


@page
@requires("reports:view")
def journal_day(request: Request, db: Session) -> Response:
    return _journal_page(request, db)


@page
@requires("exports:gl")
def journal_export(request: Request, db: Session) -> Response:
    staff = staff_context(request)
    values = {
        "first": scrub(form_text(request, "first")),
        "last": scrub(form_text(request, "last")),
    }
    first = day_of(values["first"], dt.date.min)
    last = day_of(values["last"], dt.date.min)
    if first is None or last is None or dt.date.min in (first, last):
        return _journal_page(
            request, db, {"export-first": _("Enter the days like 2026-03-14.")}, values
        )
    try:
        done = journal.export(db, gl_accounts(request), staff.user, staff.actor, first, last)
    except JournalError as error:
        db.rollback()
        return _journal_page(request, db, {"export-first": error.message}, values)
    request.session[NOTICE] = _("Exported. These days are closed now.")
    return redirect_to(request, "staff:finance_export", export_id=done.id)


@page
@requires("exports:gl")
def export_detail(request: Request, db: Session) -> Response:
    done = db.get(GlExport, request.path_params["export_id"])
    if done is None:
        raise HTTPException(404)
    context: dict[str, Any] = {
        **common_context(request),
        "export": done,
        "exporter": db.get(StaffUser, done.exported_by_id) if done.exported_by_id else None,
    }
    return render(request, "staff/finance/export.html", context)


def _download(request: Request, db: Session, fixed: bool) -> Response:
    done = db.get(GlExport, request.path_params["export_id"])
    if done is None:
        raise HTTPException(404)
    staff = staff_context(request)
    audit.record(
        db,
        staff.actor,
        audit.AuditAction.GL_EXPORT_DOWNLOADED,
        "gl_export",
        done.id,
        {"file": "fixed" if fixed else "csv", "sha256": done.sha256},
    )
    name = f"gl-{done.first_day.isoformat()}-{done.last_day.isoformat()}"
    return Response(
        done.fixed_bytes if fixed else done.csv_bytes,
        media_type="text/plain; charset=us-ascii" if fixed else "text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.{"txt" if fixed else "csv"}"',
            "Cache-Control": "no-store",
        },
    )


@page
@requires("exports:gl")
@writes_on_get  # the download is audited
def export_csv(request: Request, db: Session) -> Response:
    return _download(request, db, fixed=False)


@page
@requires("exports:gl")
@writes_on_get  # the download is audited
def export_fixed(request: Request, db: Session) -> Response:
    return _download(request, db, fixed=True)


@page
@requires("reports:view")
def entry_detail(request: Request, db: Session) -> Response:
    entry = db.get(GlEntry, request.path_params["entry_id"])
    if entry is None:
        raise HTTPException(404)
    payments = journal.payments_behind(db, entry.source, entry.source_id)
    context: dict[str, Any] = {
        **common_context(request),
        "entry": entry,
        "departments": dict(db.execute(select(Department.id, Department.code)).all()),
        "payments": [(p, deposits.deposit_of(db, p)) for p in payments],
        "drawer": db.get(DrawerSession, entry.source_id)
        if entry.source is GlSource.OVER_SHORT
        else None,
    }
    return render(request, "staff/finance/entry.html", context)
