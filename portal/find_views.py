"""Find what I owe and the basket: look bills up by the details printed on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from portal import basket
from portal.basket import Holding
from portal.payment_views import notice
from portal.templating import templates
from portal.web import (
    NO_STORE,
    citizen,
    client_address,
    form_text,
    redirect_to,
    settings_of,
    too_many_attempts,
)
from shared.balance_sources.refreshing import Freshness, Refresher
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number
from shared.context_ref import sign_ref
from shared.customers import lookup
from shared.i18n import gettext_ as _
from shared.models import Account
from shared.payments.amount_input import read_part_payment
from shared.rate_limit import Limit, RateLimited, count, refuse_if_spent
from shared.web.endpoint import page, writes_on_get
from shared.web.sessions import rotate

# Failed look-ups only: a shared computer (a library's, a family's) is never refused for
# the bills people found on it. Per number *and* address, so a stranger's wrong codes for
# someone's number never lock its owner out; the ceiling over every address caps guessing
# from many addresses at once (it refuses everyone until its window ends, so it is high).
FAILURES_PER_ADDRESS = Limit(10, dt.timedelta(minutes=15))
FAILURES_PER_NUMBER_AND_ADDRESS = Limit(5, dt.timedelta(minutes=15))
FAILURES_EVERYWHERE = Limit(500, dt.timedelta(minutes=15))


# -- find what I owe -----------------------------------------------------------------


def _find_page(
    request: Request,
    errors: dict[str, str] | None = None,
    number: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        "errors": errors or {},
        "number": number,
        "has_basket": bool(basket.accounts(request.session)),
    }
    return templates.TemplateResponse(
        request, "portal/find.html", context, status_code=status_code, headers=headers
    )


@page
def find(request: Request, db: Session) -> Response:
    if request.method == "GET":
        return _find_page(request)
    number = form_text(request, "number")
    factor = form_text(request, "factor")
    errors = {}
    if not number:
        errors["find-number"] = _("Enter the account number or bill number from your bill.")
    if not factor:
        errors["find-factor"] = _("Enter the access code or the postal code from your bill.")
    for field, value in (("find-number", number), ("find-factor", factor)):
        if holds_card_number(value):
            # Refused before it is looked up or counted: never kept, even hashed.
            errors[field], number = _(CARD_NUMBER_REFUSED), ""
    if errors:
        return _find_page(request, errors, number=number, status_code=422)
    address = client_address(request)
    limits = [
        (f"portal:find:address:{address}", FAILURES_PER_ADDRESS),
        (
            f"portal:find:number:{lookup.normalise(number)}:{address}",
            FAILURES_PER_NUMBER_AND_ADDRESS,
        ),
        ("portal:find:everywhere", FAILURES_EVERYWHERE),
    ]
    try:
        refuse_if_spent(db, limits)
    except RateLimited as limited:
        message, headers = too_many_attempts(limited)
        return _find_page(request, {"find-number": message}, status_code=429, headers=headers)
    account = lookup.find_account(db, number, factor)
    if account is None:
        count(db, limits)
        # The same words whether the number or the code was wrong: no enumeration.
        message = _(
            "We could not find a bill with those details. Check the number and the code "
            "printed on your bill, and try again."
        )
        return _find_page(request, {"find-number": message}, status_code=422)
    basket.add_account(request.session, account.account_number)
    # The session now reaches someone's account: give it a new id (session fixation).
    rotate(request)
    return redirect_to(request, "portal:basket")


# -- the basket ----------------------------------------------------------------------


def _basket_page(
    request: Request,
    holdings: list[Holding],
    errors: dict[str, str],
    status_code: int = 200,
    freshness: Mapping[int, Freshness] | None = None,
) -> Response:
    context = {
        "holdings": holdings,
        "freshness": freshness or {},
        "errors": errors,
        "notice": notice(basket.pop_notice(request.session)),
        "help_context": _help_context(request, holdings),
    }
    return templates.TemplateResponse(
        request, "portal/basket.html", context, status_code=status_code, headers=NO_STORE
    )


def _help_context(request: Request, holdings: list[Holding]) -> str:
    for holding in holdings:
        for line in holding.lines:
            return sign_ref(settings_of(request).secret_key, "invoice", line.number)
    return ""


@page
@writes_on_get
def basket_view(request: Request, db: Session) -> Response:
    """The bills found. Its GET writes: the accounts of systems Paydesk pulls from whose
    data is older than the setting are asked first (never longer than their timeout)."""
    session = request.session
    locale = request.state.locale
    numbers = basket.accounts(session)
    if not numbers:
        return redirect_to(request, "portal:find")
    refresher: Refresher = request.app.state.runtime.balance_sources
    found = db.scalars(select(Account).where(Account.account_number.in_(numbers)))
    freshness = refresher.refresh(db, found, citizen(request)).accounts
    db.commit()
    chosen = basket.choices(session) if request.method == "GET" else None
    settings = settings_of(request)
    holdings = basket.load(db, numbers, settings.currency, locale, settings.timezone, chosen)
    if request.method == "GET":
        return _basket_page(request, holdings, {}, freshness=freshness)

    form = request.state.form
    selected = set(form.getlist("pay"))
    errors: dict[str, str] = {}
    picked: dict[str, int] = {}
    first_box: str | None = None
    for holding in holdings:
        if not holding.payable:
            continue
        for line in holding.lines:
            first_box = first_box or line.checkbox_id
            line.checked = line.number in selected
            if line.partial:
                line.amount = form_text(request, f"amount-{line.number}")
            if not line.checked:
                continue
            if line.held_notice and (not line.partial or not line.payable_now.minor):
                # Being confirmed: paying it now could charge the person twice.
                errors[line.checkbox_id] = line.held_notice
                continue
            if not line.partial:
                picked[line.number] = line.owing.minor
                continue
            amount, error = read_part_payment(line.amount, line.payable_now, locale)
            if error:
                line.error = errors[line.amount_id] = error
            elif amount is not None:
                picked[line.number] = amount
    if not picked and not errors:
        if first_box is None:
            return _basket_page(request, holdings, {})
        errors[first_box] = _("Choose at least one bill to pay.")
    if errors:
        return _basket_page(request, holdings, errors, status_code=422)
    basket.set_choices(session, picked)
    return redirect_to(request, "portal:check")


@page
def remove(request: Request, db: Session) -> Response:
    basket.remove_account(request.session, form_text(request, "account"))
    if basket.accounts(request.session):
        return redirect_to(request, "portal:basket")
    return redirect_to(request, "portal:find")
