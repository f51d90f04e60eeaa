"""Finance screens: a cashier's drawer (open with a float, count by denomination) and
deposits (closed drawers into a bag, the slip as PDF); the journal and the report are in
`staff.ledger_views` and `staff.report_views`.

Who: the drawer page needs `drawers:operate` (one's own drawer only); deposits
`deposits:prepare`; reading drawers, deposits, the journal and the report `reports:view`
(the report within the reader's departments); exporting
and downloading exports `exports:gl`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number, scrub
from shared.finance import deposits, drawers, journal
from shared.finance.deposits import DepositError
from shared.finance.drawers import DrawerError
from shared.i18n import current_locale
from shared.i18n import gettext_ as _
from shared.models import (
    ApprovalRequest,
    Deposit,
    DepositKind,
    DrawerSession,
    DrawerStatus,
    GlEntry,
    GlSource,
    SettlementBatchRecord,
    StaffUser,
)
from shared.money import Money, MoneyError, parse_money
from shared.reconciliation import book as reconciliation
from shared.web.endpoint import page
from staff.access import StaffContext, requires
from staff.payment_views import display
from staff.templating import render
from staff.web import form_key, form_text, form_values, id_from, redirect_to, settings_of

NOTICE = "staff_finance_notice"
SHOWN = 50
COMMENT_LENGTH = 1000
# Beyond these a typed amount is a slip (or a card number), not a drawer's money.
MOST_FLOAT = 1_000_000  # $10,000.00
MOST_CHEQUES = 100_000_000  # $1,000,000.00


def staff_context(request: Request) -> StaffContext:
    staff: StaffContext = request.state.staff
    return staff


def gl_accounts(request: Request) -> journal.Accounts:
    return journal.Accounts.of(settings_of(request))


def status_names() -> dict[str, str]:
    return {
        DrawerStatus.OPEN: _("Open"),
        DrawerStatus.AWAITING_APPROVAL: _("Waiting for a supervisor"),
        DrawerStatus.CLOSED: _("Closed"),
    }


def source_names() -> dict[str, str]:
    return {
        GlSource.PAYMENT: _("Payment"),
        GlSource.CORRECTION: _("Correction"),
        GlSource.OVER_SHORT: _("Drawer over/short"),
        GlSource.CARD_FEES: _("Card fees"),
    }


def denomination_label(denomination: drawers.Denomination, currency: str) -> str:
    shown = display_amount(denomination.value, currency)
    return (_("%(amount)s note") if denomination.kind == "note" else _("%(amount)s coin")) % {
        "amount": shown
    }


def display_amount(minor: int, currency: str) -> str:
    return Money(minor, currency).format(current_locale.get())


def common_context(request: Request) -> dict[str, Any]:
    return {
        **display(request),
        "currency": settings_of(request).currency,
        "status_names": status_names(),
        "source_names": source_names(),
        "notice": request.session.pop(NOTICE, None),
    }


# -- my drawer -------------------------------------------------------------------------


def _drawer_page(
    request: Request,
    db: Session,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    staff = staff_context(request)
    currency = settings_of(request).currency
    mine = drawers.unclosed(db, staff.user.id)
    recent = db.scalars(
        select(DrawerSession)
        .where(DrawerSession.staff_user_id == staff.user.id)
        .order_by(DrawerSession.id.desc())
        .limit(10)
    ).all()
    shown = []
    for drawer in mine:
        approval = db.get(ApprovalRequest, drawer.approval_id) if drawer.approval_id else None
        countable = drawer.status is DrawerStatus.OPEN or (
            approval is not None and approval.status in drawers.RECOUNT
        )
        shown.append(
            (
                drawer,
                drawers.expected(db, drawer),
                drawers.payments_of(db, drawer),
                approval,
                countable,
            )
        )
    context: dict[str, Any] = {
        **common_context(request),
        "has_open": bool(mine) and mine[0].status is DrawerStatus.OPEN,
        "shown": shown,
        "denominations": [
            (d, denomination_label(d, currency)) for d in drawers.denominations(currency)
        ],
        "recent": recent,
        "tolerance": settings_of(request).drawer_tolerance,
        "errors": errors or {},
        "values": values or {},
        "key": form_key(request),
    }
    return render(request, "staff/finance/drawer.html", context, 422 if errors else 200)


@page
@requires("drawers:operate")
def my_drawer(request: Request, db: Session) -> Response:
    return _drawer_page(request, db)


@page
@requires("drawers:operate")
def open_drawer(request: Request, db: Session) -> Response:
    staff = staff_context(request)
    settings = settings_of(request)
    text = form_text(request, "float")
    values = {"float": scrub(text)}
    try:
        amount = parse_money(text, settings.currency, current_locale.get()).minor
        if amount > MOST_FLOAT:
            raise MoneyError("too much")
    except MoneyError:
        return _drawer_page(
            request, db, {"drawer-float": _("Enter the float, like 150.00.")}, values
        )
    try:
        drawers.open_drawer(
            db,
            staff.user,
            staff.actor,
            float_amount=amount,
            currency=settings.currency,
            key=form_key(request),
        )
    except DrawerError as error:
        db.rollback()
        return _drawer_page(request, db, {"drawer-float": error.message}, values)
    request.session[NOTICE] = _("The drawer is open: cash and cheques you take go into it.")
    return redirect_to(request, "staff:finance_drawer")


def _count_of(
    request: Request, currency: str, drawer_id: int
) -> tuple[dict[str, int], dict[str, str]]:
    counts: dict[str, int] = {}
    errors: dict[str, str] = {}
    for denomination in drawers.denominations(currency):
        text = form_text(request, denomination.key)
        if not text:
            continue
        number = id_from(text)
        if number is None or number > 1_000_000:
            errors[f"count-{drawer_id}-{denomination.key}"] = _(
                "Enter how many, as a whole number."
            )
        else:
            counts[denomination.key] = number
    return counts, errors


@page
@requires("drawers:operate")
def count_drawer(request: Request, db: Session) -> Response:
    staff = staff_context(request)
    settings = settings_of(request)
    # What was typed, shown again on an error page (card numbers masked).
    values = {name: scrub(form_text(request, name)) for name in request.state.form}
    values.pop("csrf_token", None)
    drawer_id: int = request.path_params["drawer_id"]
    counts, errors = _count_of(request, settings.currency, drawer_id)
    cheques_text = form_text(request, "cheques") or "0"
    try:
        cheques = parse_money(cheques_text, settings.currency, current_locale.get()).minor
        if cheques > MOST_CHEQUES:
            raise MoneyError("too much")
    except MoneyError:
        cheques = 0
        errors[f"count-{drawer_id}-cheques"] = _(
            "Enter the cheques' total, like 120.00 (0 for none)."
        )
    if errors:
        return _drawer_page(request, db, errors, values)
    try:
        drawer = drawers.count(
            db,
            drawer_id,
            staff.user,
            staff.actor,
            counts=counts,
            cheques=cheques,
            tolerance=settings.drawer_tolerance,
            comment=scrub(form_text(request, "comment"))[:COMMENT_LENGTH],
            key=form_key(request),
        )
    except DrawerError as error:
        db.rollback()
        if error.code == "not_yours":
            raise HTTPException(404) from None
        field = f"count-{drawer_id}-{'comment' if error.code == 'comment' else 'cheques'}"
        return _drawer_page(request, db, {field: error.message}, values)
    if drawer.status is DrawerStatus.CLOSED:
        request.session[NOTICE] = _("Counted and closed.")
    else:
        request.session[NOTICE] = _(
            "Counted. The over/short is past the tolerance: a supervisor must approve it."
        )
    return redirect_to(request, "staff:finance_drawer")


# -- a drawer, a deposit ---------------------------------------------------------------


@page
@requires("reports:view")
def drawer_detail(request: Request, db: Session) -> Response:
    drawer = db.get(DrawerSession, request.path_params["drawer_id"])
    if drawer is None:
        raise HTTPException(404)
    cashier = db.get(StaffUser, drawer.staff_user_id)
    counts = [
        (denomination_label(d, drawer.currency), drawer.counts.get(d.key, 0), d.value)
        for d in drawers.denominations(drawer.currency)
        if drawer.counts.get(d.key)
    ]
    context: dict[str, Any] = {
        **common_context(request),
        "drawer": drawer,
        "cashier": cashier,
        "counts": counts,
        "expected": drawers.expected(db, drawer),
        "payments": drawers.payments_of(db, drawer),
        "deposit": db.get(Deposit, drawer.deposit_id) if drawer.deposit_id else None,
        "approval": db.get(ApprovalRequest, drawer.approval_id) if drawer.approval_id else None,
        "entries": db.scalars(
            select(GlEntry).where(
                GlEntry.source == GlSource.OVER_SHORT, GlEntry.source_id == drawer.id
            )
        ).all(),
    }
    return render(request, "staff/finance/drawer_detail.html", context)


def _deposits_page(
    request: Request,
    db: Session,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    recent = db.scalars(select(Deposit).order_by(Deposit.id.desc()).limit(SHOWN)).all()
    waiting = deposits.undeposited(db)
    names = dict(
        db.execute(
            select(StaffUser.id, StaffUser.display_name).where(
                StaffUser.id.in_({d.staff_user_id for d in waiting})
            )
        ).all()
    )
    context: dict[str, Any] = {
        **common_context(request),
        "waiting": [
            (d, deposits.drawer_deposit(d), names.get(d.staff_user_id, "")) for d in waiting
        ],
        "recent": recent,
        "errors": errors or {},
        "values": values or {},
        "key": form_key(request),
    }
    return render(request, "staff/finance/deposits.html", context, 422 if errors else 200)


@page
@requires("deposits:prepare")
def deposit_list(request: Request, db: Session) -> Response:
    return _deposits_page(request, db)


@page
@requires("deposits:prepare")
def deposit_prepare(request: Request, db: Session) -> Response:
    staff = staff_context(request)
    settings = settings_of(request)
    chosen = [i for i in (id_from(v) for v in form_values(request, "drawer")) if i is not None]
    bag = form_text(request, "bag")
    values: dict[str, Any] = {"bag": scrub(bag), "drawers": chosen}
    if holds_card_number(bag):
        return _deposits_page(request, db, {"deposit-bag": _(CARD_NUMBER_REFUSED)}, values)
    try:
        deposit = deposits.prepare(
            db,
            staff.user,
            staff.actor,
            drawer_ids=chosen,
            bag_number=bag,
            currency=settings.currency,
            timezone=settings.timezone,
            key=form_key(request),
        )
    except DepositError as error:
        db.rollback()
        field = "deposit-drawers" if error.code in ("empty", "not_closed") else "deposit-bag"
        return _deposits_page(request, db, {field: error.message}, values)
    # The bag's payments are in the journal from now on, for the trail from line to bag.
    journal.post_pending(db, gl_accounts(request), staff.actor)
    request.session[NOTICE] = _("Deposit prepared: print the slip and put it in the bag.")
    return redirect_to(request, "staff:finance_deposit", deposit_id=deposit.id)


def _deposit_or_404(request: Request, db: Session) -> Deposit:
    deposit = db.get(Deposit, request.path_params["deposit_id"])
    if deposit is None:
        raise HTTPException(404)
    return deposit


@page
@requires("reports:view")
def deposit_detail(request: Request, db: Session) -> Response:
    deposit = _deposit_or_404(request, db)
    batch = db.scalars(
        select(SettlementBatchRecord).where(SettlementBatchRecord.deposit_id == deposit.id)
    ).first()
    context: dict[str, Any] = {
        **common_context(request),
        "deposit": deposit,
        "is_card": deposit.kind is DepositKind.CARD,
        "batch": batch,
        "drawers": [(d, deposits.drawer_deposit(d)) for d in deposit.drawers],
        "payments": deposits.payments_in(db, deposit),
        # The trail's next step: the statement lines this money arrived in.
        "bank_lines": reconciliation.line_of(db, deposit),
    }
    return render(request, "staff/finance/deposit_detail.html", context)


def slip_words() -> dict[str, str]:
    return {
        "title": _("Deposit slip"),
        "bag": _("Bag"),
        "date": _("Business day"),
        "cash": _("Cash"),
        "cheques": _("Cheques"),
        "total": _("Total"),
        "drawers": _("Drawers"),
        "prepared": _("Prepared"),
        "signature": _("Signature"),
    }


@page
@requires("reports:view")
def deposit_slip(request: Request, db: Session) -> Response:
    deposit = _deposit_or_404(request, db)
    if deposit.kind is not DepositKind.COUNTER:
        raise HTTPException(404)
    settings = settings_of(request)
    pdf = deposits.slip_pdf(
        deposit,
        list(deposit.drawers),
        settings.org_name,
        current_locale.get(),
        slip_words(),
        deposit.created_at.astimezone(dt.UTC),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="deposit-{deposit.bag_number}.pdf"',
            "Cache-Control": "no-store",
        },
    )
