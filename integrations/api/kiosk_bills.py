"""What a kiosk shows after a look-up: the account's open bills, with what is held on them
(a payment being confirmed) and what may be paid now; and the signed basket that names
them, so a payment can only be for bills this terminal found for this resident."""

from __future__ import annotations

import datetime as dt

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from integrations.api import schemas
from shared.catalog_names import bill_description, name_in
from shared.i18n import gettext_
from shared.local_time import moment
from shared.models import Account, AccountStatus, Invoice, InvoiceStatus
from shared.money import Money
from shared.payments import holds

BASKET_LIFETIME = dt.timedelta(minutes=30)
_BASKET_SALT = "paydesk.kiosk.basket"
UNPAYABLE = (AccountStatus.HOLD, AccountStatus.CLOSED)
MAX_BASKET = 50  # as many items as one payment takes


def initials(name: str) -> str:
    """'Élise Tremblay' -> 'É. T.': enough for the resident to recognise, not to learn."""
    return " ".join(part[0].upper() + "." for part in name.split() if part)


def open_bills(
    db: Session,
    account: Account,
    *,
    department_id: int | None,
    currency: str,
    locale: str,
    timezone: str,
    default_locale: str,
) -> list[schemas.Bill]:
    invoices = db.scalars(
        select(Invoice)
        .where(Invoice.account_id == account.id, Invoice.status == InvoiceStatus.OPEN)
        .options(joinedload(Invoice.fee_type), joinedload(Invoice.account))
        .order_by(Invoice.due_date, Invoice.invoice_number)
    ).all()
    if department_id is not None and account.department_id != department_id:
        return []
    payable_account = account.status not in UNPAYABLE
    held = holds.held_on(db, [inv.id for inv in invoices])
    department = name_in(account.department, locale, default_locale)
    bills = []
    for invoice in invoices:
        owing = max(invoice.owing, 0)
        if owing == 0:
            continue
        shown_held: schemas.Held | None = None
        payable = owing if payable_account else 0
        if (hold := held.get(invoice.id)) is not None:
            message, values = holds.notice(
                hold, owing, invoice.invoice_number, currency, locale, timezone
            )
            amount = min(hold.amount, owing)
            payable = max(payable - amount, 0)
            shown_held = schemas.Held(
                amount_minor=amount,
                amount_display=Money(amount, currency).format(locale),
                since=hold.since,
                since_display=moment(hold.since, timezone, locale),
                message=gettext_(message) % values,
            )
        bills.append(
            schemas.Bill(
                invoice_number=invoice.invoice_number,
                account_number=account.account_number,
                department=department,
                description=bill_description(invoice, locale, default_locale),
                amount_due_minor=owing,
                amount_due_display=Money(owing, currency).format(locale),
                payable_minor=payable,
                payable_display=Money(payable, currency).format(locale),
                held=shown_held,
            )
        )
    return bills


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_BASKET_SALT)


def sign_basket(secret_key: str, terminal: str, invoice_numbers: list[str]) -> str:
    return str(_serializer(secret_key).dumps({"t": terminal, "b": invoice_numbers}))


def basket_bills(secret_key: str, terminal: str, token: str) -> list[str] | None:
    """The bills a basket token names, if it is this terminal's and under 30 minutes old."""
    try:
        data = _serializer(secret_key).loads(token, max_age=int(BASKET_LIFETIME.total_seconds()))
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("t") != terminal:
        return None
    bills = data.get("b")
    if not isinstance(bills, list) or not all(isinstance(b, str) for b in bills):
        return None
    return bills
