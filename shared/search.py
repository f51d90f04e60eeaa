"""Find anything: recognise an identifier someone reads out, or search people and payments.

`identify` turns whatever was typed (a customer, account, invoice, receipt number or a
transaction ID, loosely typed) into the record to open, with one unique-index look-up
per candidate table. Otherwise `find_customers` searches names, emails and phone
numbers, and `payments_query` builds the payment search (the text, "card last 4 +
amount", the filters) for keyset pagination: `payment_page` for one screen,
`payment_batches` for an export of any size. The staff console uses it now; the JSON
API can reuse it.

Accents: nothing extra is stored. PostgreSQL folds with `translate(...)` + `lower()`;
SQLite compares with its ASCII-case-insensitive LIKE and, only for names holding a
non-ASCII character, with `paydesk_fold()`, a Python function registered on the
connection. Only Latin letters with diacritics are folded (é → e, ß stays); that covers
French and Spanish names. Partial (`%text%`) matches cannot use a B-tree index, so name,
email and phone searches scan the customers table (see the report for the indexes).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, sessionmaker

from shared.models import (
    Account,
    Allocation,
    Channel,
    Customer,
    Invoice,
    Payment,
    PaymentStatus,
    Receipt,
)
from shared.money import MoneyError, parse_money
from shared.payment_status import LookupInputError, normalize_reference

PAGE_SIZE = 50
CUSTOMER_LIMIT = 50
FOLD_FUNCTION = "paydesk_fold"


# -- folding ----------------------------------------------------------------------------


def fold(text: str | None) -> str | None:
    """Lowercase without diacritics: `Émilie` -> `emilie`."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _accent_table() -> tuple[str, str]:
    # Latin-1 Supplement and Latin Extended-A letters whose base is one ASCII letter.
    accented, plain = [], []
    for code in range(0xC0, 0x180):
        char = chr(code)
        base = unicodedata.normalize("NFKD", char)[:1]
        if base != char and base.isascii() and base.isalpha():
            accented.append(char)
            plain.append(base)
    return "".join(accented), "".join(plain)


_ACCENTED, _PLAIN = _accent_table()


def register_fold(db: Session) -> None:
    """Make `paydesk_fold()` available on this session's SQLite connection (idempotent)."""
    if db.get_bind().dialect.name != "sqlite":
        return
    raw: Any = db.connection().connection.driver_connection
    raw.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    return f"%{_escape_like(text)}%"


def _folded_like(column: Any, dialect: str, folded: str) -> ColumnElement[bool]:
    pattern = _contains(folded)
    if dialect == "postgresql":
        return func.lower(func.translate(column, _ACCENTED, _PLAIN)).like(pattern, escape="\\")
    # SQLite's LIKE folds ASCII case; only names with a non-ASCII character need Python.
    return or_(
        column.like(pattern, escape="\\"),
        and_(column.op("GLOB")("*[^ -~]*"), func.paydesk_fold(column).like(pattern, escape="\\")),
    )


# -- identifiers ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Jump:
    """The one record an identifier names: a customer (maybe one of its accounts) or a payment."""

    kind: Literal["customer", "payment"]
    customer_id: int | None = None
    transaction_id: str | None = None
    anchor: str | None = None


_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_/.]+")
_IDENTIFIER = re.compile(r"[A-Z]{1,4}-[0-9A-Z]+(?:-[0-9A-Z]+)*")
_INVOICE_SHAPE = re.compile(r"[A-Z]{1,4}-\d{4}-\d+")


def clean_identifier(text: str) -> str:
    """`c 000123` -> `C-000123`: upper case, runs of spaces and dashes made one dash."""
    return _SEPARATORS.sub("-", text.strip().upper()).strip("-")


def _customer(db: Session, number: str) -> Jump | None:
    found = db.scalar(select(Customer.id).where(Customer.customer_number == number))
    return Jump("customer", customer_id=found) if found is not None else None


def _account(db: Session, number: str) -> Jump | None:
    row = db.execute(
        select(Account.id, Account.customer_id).where(Account.account_number == number)
    ).first()
    return (
        Jump("customer", customer_id=row.customer_id, anchor=f"account-{row.id}") if row else None
    )


def _invoice(db: Session, number: str) -> Jump | None:
    row = db.execute(
        select(Invoice.id, Account.customer_id)
        .join(Account, Invoice.account_id == Account.id)
        .where(Invoice.invoice_number == number)
    ).first()
    return (
        Jump("customer", customer_id=row.customer_id, anchor=f"invoice-{row.id}") if row else None
    )


def _payment(db: Session, transaction_id: str) -> Jump | None:
    found = db.scalar(
        select(Payment.transaction_id).where(Payment.transaction_id == transaction_id)
    )
    return Jump("payment", transaction_id=found) if found is not None else None


def _receipt(db: Session, number: str) -> Jump | None:
    found = db.scalar(
        select(Payment.transaction_id)
        .join(Receipt, Receipt.payment_id == Payment.id)
        .where(Receipt.receipt_number == number)
    )
    return Jump("payment", transaction_id=found) if found is not None else None


def identify(db: Session, text: str) -> Jump | None:
    """The record `text` names exactly, if it has the shape of an identifier and exists.

    Transaction IDs and receipt numbers are read loosely (case, spaces or dashes, and
    O/I/L for 0/1 in transaction IDs). Other shapes are tried against each kind of
    number, the likeliest first, one unique-index look-up each.
    """
    cleaned = clean_identifier(text)
    if not cleaned or len(cleaned) > 64:
        return None
    try:
        reference = normalize_reference(cleaned)
    except LookupInputError:
        reference = None
    if reference is not None:
        jump = (_receipt if reference.startswith("R-") else _payment)(db, reference)
        if jump is not None:
            return jump
    if not _IDENTIFIER.fullmatch(cleaned):
        return None
    prefix = cleaned.split("-", 1)[0]
    order = [_account, _customer, _invoice, _payment, _receipt]
    if prefix in {"C", "S"}:
        order = [_customer, _account, _invoice, _payment, _receipt]
    elif prefix in {"B", "SB", "INV"} or _INVOICE_SHAPE.fullmatch(cleaned):
        order = [_invoice, _receipt, _account, _customer, _payment]
    elif prefix.startswith("T"):
        order = [_payment, _account, _customer, _invoice, _receipt]
    for look_up in order:
        if (jump := look_up(db, cleaned)) is not None:
            return jump
    return None


# -- card last 4 + amount ---------------------------------------------------------------

_CARD_AMOUNT = re.compile(r"(\d{4})\s+(\S.*)")


def card_and_amount(text: str, currency: str, locale: str) -> tuple[str, int] | None:
    """`4242 125.50` -> ("4242", 12550): the card's last 4 digits and the amount paid."""
    match = _CARD_AMOUNT.fullmatch(text.strip())
    if not match:
        return None
    try:
        amount = parse_money(match.group(2), currency, locale)
    except MoneyError:
        return None
    return (match.group(1), amount.minor) if amount.minor > 0 else None


# -- customers --------------------------------------------------------------------------

_PHONE_CHARACTERS = re.compile(r"[\d\s()+\-.]+")


def _digits_of(column: Any) -> Any:
    for char in (" ", "-", "(", ")", "+", "."):
        column = func.replace(column, char, "")
    return column


def customer_condition(dialect: str, text: str) -> ColumnElement[bool] | None:
    """Customers whose name (every word), email or phone number contains `text`."""
    folded = fold(" ".join(text.split())) or ""
    if not folded:
        return None
    words = folded.split(" ")
    conditions: list[ColumnElement[bool]] = [
        and_(*(_folded_like(Customer.name, dialect, word) for word in words)),
        func.lower(Customer.email).like(_contains(folded.replace(" ", "")), escape="\\"),
    ]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3 and _PHONE_CHARACTERS.fullmatch(text.strip()):
        conditions.append(_digits_of(Customer.phone).like(f"%{digits}%"))
    return or_(*conditions)


@dataclass(frozen=True, slots=True)
class CustomerHit:
    customer: Customer
    accounts: int


def find_customers(db: Session, text: str, limit: int = CUSTOMER_LIMIT) -> list[CustomerHit]:
    """Up to `limit` customers matching `text` by name, email or phone, by name."""
    register_fold(db)
    condition = customer_condition(db.get_bind().dialect.name, text)
    if condition is None:
        return []
    accounts = (
        select(func.count(Account.id)).where(Account.customer_id == Customer.id).scalar_subquery()
    )
    rows = db.execute(
        select(Customer, accounts)
        .where(condition)
        .order_by(Customer.name, Customer.id)
        .limit(limit)
    ).all()
    return [CustomerHit(customer, int(count)) for customer, count in rows]


# -- payments ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    department_id: int | None = None
    channel: Channel | None = None
    status: PaymentStatus | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    terminal_id: int | None = None

    def any(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class PaymentSearch:
    """What to look for: the typed text, the filters, and the departments the asker may see
    (None: every department)."""

    text: str = ""
    filters: Filters = field(default_factory=Filters)
    departments: frozenset[int] | None = None
    currency: str = "CAD"
    locale: str = "en"
    timezone: str = "UTC"

    @property
    def wanted(self) -> bool:
        """Whether there is anything to search for (an empty box lists nothing)."""
        return bool(self.text.strip()) or self.filters.any()


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last row's (created_at, id); the next page starts after it."""

    created_at: dt.datetime
    id: int

    def encode(self) -> str:
        micros = int(self.created_at.timestamp() * 1_000_000)
        raw = f"{micros}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """None for anything that is not a cursor we made (a hand-edited URL)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            micros, ident = raw.split(".")
            at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))
            return cls(at, int(ident))
        except (ValueError, UnicodeDecodeError, OverflowError):
            return None


_PaymentSelect = Select[Payment, Customer, str]


def _in_department(departments: frozenset[int] | set[int]) -> ColumnElement[bool]:
    return exists(
        select(literal(1)).where(
            Allocation.payment_id == Payment.id, Allocation.department_id.in_(departments)
        )
    )


def _local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), ZoneInfo(timezone)).astimezone(dt.UTC)


def payments_query(dialect: str, search: PaymentSearch) -> _PaymentSelect:
    """Matching payments (with customer and receipt), newest first; no limit."""
    conditions: list[ColumnElement[bool]] = []
    text = search.text.strip()
    card = card_and_amount(text, search.currency, search.locale) if text else None
    if card is not None:
        conditions += [Payment.card_last4 == card[0], Payment.amount == card[1]]
    elif text:
        matching = customer_condition(dialect, text)
        who = (
            [Payment.customer_id.in_(select(Customer.id).where(matching))]
            if matching is not None
            else []
        )
        if "@" in text:
            who.append(func.lower(Payment.payer_email).like(_contains(text.lower()), escape="\\"))
        conditions.append(or_(*who) if who else literal(False))
    f = search.filters
    if f.department_id is not None:
        conditions.append(_in_department({f.department_id}))
    if search.departments is not None:
        conditions.append(_in_department(search.departments))
    if f.channel is not None:
        conditions.append(Payment.channel == f.channel)
    if f.status is not None:
        conditions.append(Payment.status == f.status)
    if f.terminal_id is not None:
        conditions.append(Payment.terminal_id == f.terminal_id)
    if f.min_amount is not None:
        conditions.append(Payment.amount >= f.min_amount)
    if f.max_amount is not None:
        conditions.append(Payment.amount <= f.max_amount)
    if f.date_from is not None:
        conditions.append(Payment.created_at >= _local_midnight(f.date_from, search.timezone))
    if f.date_to is not None:
        end = _local_midnight(f.date_to + dt.timedelta(days=1), search.timezone)
        conditions.append(Payment.created_at < end)
    return (
        select(Payment, Customer, Receipt.receipt_number)
        .outerjoin(Customer, Payment.customer_id == Customer.id)
        .outerjoin(Receipt, Receipt.payment_id == Payment.id)
        .where(*conditions)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )


def after(statement: _PaymentSelect, cursor: Cursor | None) -> _PaymentSelect:
    """Only rows after `cursor` in (created_at desc, id desc) order."""
    if cursor is None:
        return statement
    return statement.where(
        or_(
            Payment.created_at < cursor.created_at,
            and_(Payment.created_at == cursor.created_at, Payment.id < cursor.id),
        )
    )


@dataclass(frozen=True, slots=True)
class PaymentRow:
    payment: Payment
    customer: Customer | None
    receipt_number: str | None


@dataclass(frozen=True, slots=True)
class PaymentPage:
    rows: list[PaymentRow]
    next: Cursor | None


def payment_page(
    db: Session, search: PaymentSearch, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> PaymentPage:
    """One page of matching payments (one extra row read tells whether another follows)."""
    if not search.wanted:
        return PaymentPage([], None)
    register_fold(db)
    statement = after(payments_query(db.get_bind().dialect.name, search), cursor)
    found = [PaymentRow(*row) for row in db.execute(statement.limit(size + 1)).all()]
    rows = found[:size]
    last = rows[-1].payment if rows else None
    more = len(found) > size and last is not None
    return PaymentPage(rows, Cursor(last.created_at, last.id) if more and last else None)


def payment_batches(
    factory: sessionmaker[Session], search: PaymentSearch, size: int = 1000
) -> Iterator[list[PaymentRow]]:
    """Every matching payment, `size` at a time, each batch in a short session of its own
    (an export of millions never holds them all, nor one long transaction)."""
    cursor: Cursor | None = None
    while True:
        with factory() as db:
            # Closing (not rolling back) keeps the rows' loaded attributes readable.
            page = payment_page(db, search, cursor, size)
        if page.rows:
            yield page.rows
        if page.next is None:
            return
        cursor = page.next
