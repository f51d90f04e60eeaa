"""Find anything: recognise an identifier someone reads out, or search people and payments.

`identify` turns whatever was typed (a customer, account, invoice, receipt number or a
transaction ID, loosely typed) into the record to open, with one unique-index look-up
per candidate table. Otherwise `match_customers` finds the customers with a name word,
email or phone starting with each typed word (`customer_hits` loads them to show), and
`payments_query` builds the payment search (those customers' payments, "card last 4 +
amount", the filters) for keyset pagination: `payment_page` for one screen,
`payment_batches` for an export of any size. A screen matches the customers once and
the payments query takes their ids: the payments of the customers listed (the first 50
matches). An export takes the payments of every customer named, however many, through
a subquery (`every_customer_named`). The staff console uses it now; the JSON API can
reuse it.

Names, emails and phones are searched through `customer_search_terms`: words folded
(case, Latin accents) when the customer is written, so a search is an index range scan
on both databases (see `shared.search_terms`). A word matches the start of a term, not
its middle: `emil` and `trem` find Émilie Tremblay, `milie` does not. A payer email
(typed with `@`) finds payments by the whole address.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from shared.models import (
    Account,
    Allocation,
    Channel,
    Customer,
    CustomerSearchTerm,
    Invoice,
    Payment,
    PaymentStatus,
    Receipt,
)
from shared.money import MoneyError, parse_money
from shared.payment_status import LookupInputError, normalize_reference
from shared.search_terms import prefix_end, query_words

PAGE_SIZE = 50
CUSTOMER_LIMIT = 50


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
    # Every number Paydesk issues or imports holds a digit: `Jean Roy` (JEAN-ROY) is a
    # name to search, not five look-ups.
    if not _IDENTIFIER.fullmatch(cleaned) or not any(c.isdigit() for c in cleaned):
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

# Rows read per customer wanted: one customer can start a word with several terms (the
# name and the email both start with "emil").
_ROWS_PER_CUSTOMER = 4
# Enough index entries to tell which word of a several-word search is the rarest.
_COUNT_CAP = 500
# When every word is that common, read at most this many terms of the rarest.
_SCAN_LIMIT = 20_000


def _starts(column: Any, word: str) -> ColumnElement[bool]:
    # A range, not LIKE: the same B-tree range scan on both databases.
    end = prefix_end(word)
    return and_(column >= word, column < end) if end is not None else column >= word


def _counts_up_to(db: Session, words: list[str], cap: int) -> dict[str, int]:
    """How many terms start with each word, counting no further than `cap` (one query)."""
    counts = [
        select(func.count())
        .select_from(
            select(literal(1)).where(_starts(CustomerSearchTerm.term, w)).limit(cap).subquery()
        )
        .scalar_subquery()
        for w in words
    ]
    row = db.execute(select(*counts)).one()
    return dict(zip(words, (int(n) for n in row), strict=True))


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """The customers a text names, best matches first, and whether more may match."""

    ids: tuple[int, ...] = ()
    more: bool = False


def match_customers(db: Session, text: str, limit: int = CUSTOMER_LIMIT) -> CustomerMatch:
    """Up to `limit` customers with, for every typed word, a search term starting with it.

    The rarest word drives one index range scan, in term order (so `emil` lists the
    Emils before the Emilies); the other words are probed per customer. When every word
    is common, the scan stops after `_SCAN_LIMIT` terms and `more` says so.
    """
    words = query_words(text)
    if not words:
        return CustomerMatch()
    bounded = False
    if len(words) > 1:
        counts = _counts_up_to(db, words, _COUNT_CAP)
        words.sort(key=lambda word: (counts[word], -len(word)))
        bounded = counts[words[0]] >= _COUNT_CAP
    term = CustomerSearchTerm
    driver = select(term.customer_id, term.term).where(_starts(term.term, words[0]))
    if bounded:
        driver = driver.order_by(term.term, term.customer_id).limit(_SCAN_LIMIT)
    scanned = driver.subquery()
    other = aliased(CustomerSearchTerm)
    # A correlated look-up with LIMIT 1, not EXISTS: PostgreSQL would turn EXISTS into a
    # hash join that reads every term of a common word; this probes per driver row.
    probes = [
        select(literal(1))
        .where(other.customer_id == scanned.c.customer_id, _starts(other.term, word))
        .limit(1)
        .scalar_subquery()
        .is_not(None)
        for word in words[1:]
    ]
    wanted = (limit + 1) * _ROWS_PER_CUSTOMER
    rows = db.scalars(
        select(scanned.c.customer_id)
        .where(*probes)
        .order_by(scanned.c.term, scanned.c.customer_id)
        .limit(wanted)
    ).all()
    ids = list(dict.fromkeys(rows))
    more = bounded or len(ids) > limit or len(rows) == wanted
    return CustomerMatch(tuple(ids[:limit]), more)


def every_customer_named(text: str) -> Select[int]:
    """The ids of every customer `text` names, unbounded: for an export, where the
    database streams the payments of however many customers match."""
    words = query_words(text)
    term = CustomerSearchTerm
    if not words:
        return select(term.customer_id).where(literal(False))
    statement = select(term.customer_id).where(_starts(term.term, words[0]))
    for word in words[1:]:
        other = aliased(CustomerSearchTerm)
        statement = statement.where(
            exists(
                select(literal(1)).where(
                    other.customer_id == term.customer_id, _starts(other.term, word)
                )
            )
        )
    return statement


@dataclass(frozen=True, slots=True)
class CustomerHit:
    customer: Customer
    accounts: int


def customer_hits(db: Session, ids: Sequence[int]) -> list[CustomerHit]:
    """The customers `ids` with how many accounts each holds, by name."""
    if not ids:
        return []
    accounts = (
        select(func.count(Account.id)).where(Account.customer_id == Customer.id).scalar_subquery()
    )
    rows = db.execute(
        select(Customer, accounts).where(Customer.id.in_(ids)).order_by(Customer.name, Customer.id)
    ).all()
    return [CustomerHit(customer, int(count)) for customer, count in rows]


def find_customers(db: Session, text: str, limit: int = CUSTOMER_LIMIT) -> list[CustomerHit]:
    """Up to `limit` customers matching `text` by name, email or phone, by name."""
    return customer_hits(db, match_customers(db, text, limit).ids)


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
    # The customers the text names (`match_customers`), found once per search.
    customers: tuple[int, ...] | None = None
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


def _card(search: PaymentSearch) -> tuple[str, int] | None:
    text = search.text.strip()
    return card_and_amount(text, search.currency, search.locale) if text else None


def payments_query(search: PaymentSearch) -> _PaymentSelect:
    """Matching payments (with customer and receipt), newest first; no limit.

    A text that is not "card last 4 + amount" means the payments of `search.customers`
    (a screen looks them up first with `match_customers`), else of every customer the
    text names (an export), or, holding `@`, of that payer email.
    """
    conditions: list[ColumnElement[bool]] = []
    text = search.text.strip()
    card = _card(search)
    if card is not None:
        conditions += [Payment.card_last4 == card[0], Payment.amount == card[1]]
    elif text:
        named = search.customers if search.customers is not None else every_customer_named(text)
        who = [Payment.customer_id.in_(named)]
        if "@" in text:
            # The whole address, as typed or in lower case: an index look-up, not a scan.
            who.append(Payment.payer_email.in_({text, text.lower()}))
        conditions.append(or_(*who))
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
    statement = after(payments_query(search), cursor)
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
