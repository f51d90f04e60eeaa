"""Bank reconciliation screens: import a statement file, the statements and their lines
with their match state, deposits not yet found in the bank, and a match by hand.

Who: importing and matching need `reconciliation:work`; reading a statement (the trail
from a deposit to its bank line and back) needs `reports:view`, as the deposit page does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number, scrub
from shared.db import utcnow
from shared.i18n import gettext_ as _
from shared.local_time import in_zone
from shared.models import BankLine, BankStatement, Deposit
from shared.reconciliation import book
from shared.reconciliation.book import ReconcileError
from shared.reconciliation.statements import MOST_BYTES, StatementFileError
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.finance_views import common_context
from staff.templating import render
from staff.web import form_text, form_values, id_from, redirect_to, settings_of

NOTICE = "staff_finance_notice"
SHOWN = 200


def _staff(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def _page(
    request: Request,
    db: Session,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    lines: list[tuple[BankLine, BankStatement]] = [
        (line, stmt)
        for line, stmt in db.execute(
            select(BankLine, BankStatement)
            .join(BankStatement, BankStatement.id == BankLine.statement_id)
            .where(BankLine.match_id.is_(None))
            .order_by(BankLine.booking_date, BankLine.id)
            .limit(SHOWN)
        )
    ]
    context: dict[str, Any] = {
        **common_context(request),
        "errors": errors or {},
        "values": values or {},
        "statements": list(
            db.scalars(select(BankStatement).order_by(BankStatement.id.desc()).limit(20))
        ),
        "lines": lines,
        "deposits": book.unmatched_deposits(db, SHOWN),
        "window": settings_of(request).reconcile_window_days,
    }
    return render(request, "staff/finance/reconciliation.html", context, status_code=status)


@page
@requires("reconciliation:work")
def reconciliation(request: Request, db: Session) -> Response:
    return _page(request, db)


@page
@requires("reconciliation:work")
def import_statement(request: Request, db: Session) -> Response:
    staff = _staff(request)
    settings = settings_of(request)
    upload = request.state.form.get("statement")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, db, {"statement": _("Choose a BAI2 or camt.053 file.")}, status=422)
    data = upload.file.read(MOST_BYTES + 1)
    name = scrub(upload.filename)
    try:
        imported = book.import_file(db, data, name, staff.user, staff.actor)
        db.flush()
    except IntegrityError:
        # The same statement imported by someone else at this very moment: theirs stands.
        db.rollback()
        imported = book.import_file(db, data, name, staff.user, staff.actor)
    except StatementFileError as error:
        db.rollback()
        message = _("The file was not imported: %(where)s: %(reason)s") % {
            "where": error.where,
            "reason": scrub(error.reason),
        }
        return _page(request, db, {"statement": message}, status=422)
    today = in_zone(utcnow(), settings.timezone).date()
    outcome = book.reconcile(db, settings.reconcile_window_days, today, staff.actor)
    if imported.new:
        request.session[NOTICE] = _(
            "Statement imported: %(matched)s matches found, %(breaks)s new breaks."
        ) % {"matched": outcome.matched, "breaks": outcome.breaks_opened}
    else:
        request.session[NOTICE] = _("This statement was imported before: nothing changed.")
    return redirect_to(request, "staff:finance_statement", statement_id=imported.statements[0].id)


@page
@requires("reconciliation:work")
def match_by_hand(request: Request, db: Session) -> Response:
    staff = _staff(request)
    line_ids = [i for i in (id_from(v) for v in form_values(request, "line")) if i is not None]
    deposit_ids = [
        i for i in (id_from(v) for v in form_values(request, "deposit")) if i is not None
    ]
    reason = form_text(request, "reason")
    values = {"reason": scrub(reason), "lines": line_ids, "deposits": deposit_ids}
    if holds_card_number(reason):
        return _page(request, db, {"match-reason": _(CARD_NUMBER_REFUSED)}, values, 422)
    try:
        book.match_by_hand(db, deposit_ids, line_ids, reason, staff.user, staff.actor)
    except ReconcileError as error:
        db.rollback()
        return _page(request, db, {f"match-{error.field}": error.message}, values, 422)
    request.session[NOTICE] = _("Matched by hand; any break it settles is resolved.")
    return redirect_to(request, "staff:finance_reconciliation")


@page
@requires("reports:view")
def statement_detail(request: Request, db: Session) -> Response:
    statement = db.get(BankStatement, request.path_params["statement_id"])
    if statement is None:
        raise HTTPException(404)
    rows = [(line, book.deposits_of(db, line)) for line in statement.lines]
    context: dict[str, Any] = {
        **common_context(request),
        "statement": statement,
        "rows": rows,
        "credits": sum(x.amount for x in statement.lines if x.amount > 0),
        "debits": -sum(x.amount for x in statement.lines if x.amount < 0),
    }
    return render(request, "staff/finance/statement.html", context)


def bank_lines_of(db: Session, deposit: Deposit) -> list[BankLine]:
    """For the deposit page: the statement lines its money arrived in."""
    return book.line_of(db, deposit)
