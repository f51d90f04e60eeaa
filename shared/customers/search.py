"""Find anything: search people and payments (an identifier read out is recognised first,
by `identifier_search`).

`match_customers` finds the customers with a name word, email or phone starting with
each typed word (`customer_hits` loads them to show), and `payments_query` builds the
payment search (those customers' payments, "card last 4 + amount", the filters) for
keyset pagination: `payment_page` for one screen, `payment_batches` for an export of
any size. A screen matches the customers once and the payments query takes their ids: the
payments of the customers listed (the first 50 matches). An export takes the payments
of every customer named, however many, through a subquery (`every_customer_named`):
the same customers a screen could list, by the same rule, only not capped at 50.
The staff console uses it now; the JSON API can reuse it.

Names, emails and phones are searched through `customer_search_terms`: words folded
(case, Latin accents) when the customer is written, so a search is an index range scan
on both databases (see `shared.search_terms`). A word matches the start of a term, not
its middle: `emil` and `trem` find Émilie Tremblay, `milie` does not. A payer email
(typed with `@`) finds payments by the whole address.

Someone limited to some departments finds only what they may open
(`shared.customers.visibility.Visible`, passed to every function here that finds something): the
customers holding an account in one of those departments, those accounts and their
invoices, and the payments touching one. A record outside them answers exactly like one
that does not exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from shared.customers import typos
from shared.customers.visibility import (
    EVERYTHING,
    Visible,
    in_department,
    known_in,
    payments_within,
    probe,
    within,
)
from shared.models import (
    Account,
    Channel,
    Customer,
    CustomerSearchTerm,
    Payment,
    PaymentStatus,
    Receipt,
)
from shared.money import MoneyError, parse_money
from shared.search_terms import has_control_characters, prefix_end, query_words, word_forms

PAGE_SIZE = 50
CUSTOMER_LIMIT = 50
# The largest integer a BIGINT column holds: an id or amount past it names nothing.
BIGINT_MAX = 2**63 - 1


# -- card last 4 + amount ---------------------------------------------------------------

_CARD_AMOUNT = re.compile(r"(?P<card>\d{4})\s+(?P<amount>\S.*)")
# The other order people say it in: the amount, then the card's last 4.
_AMOUNT_CARD = re.compile(r"(?P<amount>.*\S)\s+(?P<card>\d{4})")


def card_and_amount(text: str, currency: str, locale: str) -> tuple[str, int] | None:
    """`4242 125.50` or `125.50 4242` -> ("4242", 12550): the card's last 4 digits and the
    amount paid. Four digits first are read as the card."""
    match = _CARD_AMOUNT.fullmatch(text.strip()) or _AMOUNT_CARD.fullmatch(text.strip())
    if not match:
        return None
    try:
        amount = parse_money(match.group("amount"), currency, locale)
    except MoneyError:
        return None
    # Past a BIGINT no payment can match, and the database would refuse the number.
    return (match.group("card"), amount.minor) if 0 < amount.minor <= BIGINT_MAX else None


# -- customers --------------------------------------------------------------------------

# Rows read per customer wanted: one customer can start a word with several terms (the
# name and the email both start with "emil").
_ROWS_PER_CUSTOMER = 4
# Enough index entries to tell which word of a several-word search is the rarest.
_COUNT_CAP = 500
# When every word is that common, read at most this many terms of the rarest.
_SCAN_LIMIT = 20_000


def _starts(column: Any, word: str) -> ColumnElement[bool]:
    # Ranges, not LIKE: the same B-tree range scan on both databases.
    ranges = []
    for form in word_forms(word):
        end = prefix_end(form)
        ranges.append(and_(column >= form, column < end) if end is not None else column >= form)
    return or_(*ranges)


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
    # Only when nothing matches exactly: customers a typo or two away (`typos`).
    close: tuple[int, ...] = ()


def match_customers(
    db: Session, text: str, limit: int = CUSTOMER_LIMIT, visible: Visible = EVERYTHING
) -> CustomerMatch:
    """Up to `limit` customers with, for every typed word, a search term starting with it,
    among those `visible` lets one find (`known_in` its customer departments).

    The rarest word drives one index range scan, in term order (so `emil` lists the
    Emils before the Emilies); the other words are probed per customer. When every word
    is common, the scan stops after `_SCAN_LIMIT` terms and `more` says so.
    """
    words = query_words(text)
    if not words:
        return CustomerMatch()
    departments = visible.customers
    bounded = False
    # Limited to some departments, the scan skips other departments' customers, so even
    # one common word could read all its terms: bound it the same way.
    if len(words) > 1 or departments is not None:
        counts = _counts_up_to(db, words, _COUNT_CAP)
        words.sort(key=lambda word: (counts[word], -len(word)))
        bounded = counts[words[0]] >= _COUNT_CAP
    term = CustomerSearchTerm
    driver = select(term.customer_id, term.term).where(_starts(term.term, words[0]))
    if bounded:
        driver = driver.order_by(term.term, term.customer_id).limit(_SCAN_LIMIT)
    scanned = driver.subquery()
    other = aliased(CustomerSearchTerm)
    probes = [
        probe(
            select(literal(1)).where(
                other.customer_id == scanned.c.customer_id, _starts(other.term, word)
            )
        )
        for word in words[1:]
    ]
    if departments is not None:
        probes.append(known_in(scanned.c.customer_id, departments))
    wanted = (limit + 1) * _ROWS_PER_CUSTOMER
    rows = db.scalars(
        select(scanned.c.customer_id)
        .where(*probes)
        .order_by(scanned.c.term, scanned.c.customer_id)
        .limit(wanted)
    ).all()
    ids = list(dict.fromkeys(rows))
    more = bounded or len(ids) > limit or len(rows) == wanted
    if not ids:
        # Nothing exact: a search that finds someone never pays for this.
        return CustomerMatch(close=typos.close_matches(db, text, limit, visible))
    return CustomerMatch(tuple(ids[:limit]), more)


def every_customer_named(text: str, visible: Visible = EVERYTHING) -> Select[int]:
    """The ids of every customer `text` names that `visible` lets one find, unbounded: for
    an export, where the database streams the payments of however many customers match.
    The customers `match_customers` would find for a screen, without its limit."""
    words = query_words(text)
    term = CustomerSearchTerm
    if not words:
        return select(term.customer_id).where(literal(False))
    statement = select(term.customer_id).where(_starts(term.term, words[0]))
    if visible.customers is not None:
        statement = statement.where(known_in(term.customer_id, visible.customers))
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


def customer_hits(
    db: Session, ids: Sequence[int], visible: Visible = EVERYTHING
) -> list[CustomerHit]:
    """The customers `ids` with how many accounts each holds (that `visible` shows), by
    name."""
    if not ids:
        return []
    shown = within(Account.department_id, visible.customers)
    accounts = (
        select(func.count(Account.id))
        .where(Account.customer_id == Customer.id, *shown)
        .scalar_subquery()
    )
    rows = db.execute(
        select(Customer, accounts).where(Customer.id.in_(ids)).order_by(Customer.name, Customer.id)
    ).all()
    return [CustomerHit(customer, int(count)) for customer, count in rows]


def find_customers(
    db: Session,
    text: str,
    limit: int = CUSTOMER_LIMIT,
    departments: frozenset[int] | None = None,
) -> list[CustomerHit]:
    """Up to `limit` customers matching `text` by name, email or phone, by name; with
    `departments`, only those known in one of them."""
    visible = Visible(customers=departments)
    return customer_hits(db, match_customers(db, text, limit, visible).ids, visible)


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
    """What to look for: the typed text, the filters, and what the asker may find: the
    customers the text names and the payments listed, each by its own departments."""

    text: str = ""
    filters: Filters = field(default_factory=Filters)
    visible: Visible = EVERYTHING
    # The customers the text names (`match_customers`), found once per search.
    customers: tuple[int, ...] | None = None
    currency: str = "CAD"
    locale: str = "en"
    timezone: str = "UTC"

    @property
    def wanted(self) -> bool:
        """Whether there is anything to search for (an empty box lists nothing)."""
        return bool(self.text.strip()) or self.filters.any()


# ASCII digits only: int() also reads "١٢", " 12" and "1_2", which we never write.
_CURSOR = re.compile(r"(?P<micros>-?[0-9]{1,20})\.(?P<id>[0-9]{1,20})")


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
        """None for anything that is not a cursor we made (a hand-edited URL), nor one
        the database could compare with: an id past a BIGINT, a time past year 9999."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            match = _CURSOR.fullmatch(raw)
            if match is None or not 0 < int(match["id"]) <= BIGINT_MAX:
                return None
            micros = dt.timedelta(microseconds=int(match["micros"]))
            return cls(dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + micros, int(match["id"]))
        except (ValueError, UnicodeDecodeError, OverflowError):
            return None

    def older(self, time: Any, ident: Any) -> ColumnElement[bool]:
        """The rows after this one in newest-first (time desc, id desc) order."""
        return or_(time < self.created_at, and_(time == self.created_at, ident < self.id))


_PaymentSelect = Select[Payment, Customer, str]


def _day_start(day: dt.date, timezone: str, days_later: int = 0) -> dt.datetime | None:
    """When `day` (or the day `days_later`) starts in `timezone`, in UTC; None past
    either end of the calendar (9999-12-31 has no next day), where no payment lies."""
    try:
        later = day + dt.timedelta(days=days_later)
        return dt.datetime.combine(later, dt.time(), ZoneInfo(timezone)).astimezone(dt.UTC)
    except OverflowError:
        return None


def _card(search: PaymentSearch) -> tuple[str, int] | None:
    text = search.text.strip()
    return card_and_amount(text, search.currency, search.locale) if text else None


def payments_query(search: PaymentSearch) -> _PaymentSelect:
    """Matching payments (with customer and receipt), newest first; no limit.

    A text that is not "card last 4 + amount" means the payments of `search.customers`
    (a screen looks them up first with `match_customers`), else of every customer the
    text names that the asker may find (an export), or, holding `@`, of that payer email.
    """
    conditions: list[ColumnElement[bool]] = []
    text = search.text.strip()
    card = _card(search)
    if card is not None:
        conditions += [Payment.card_last4 == card[0], Payment.amount == card[1]]
    elif text:
        named = (
            search.customers
            if search.customers is not None
            else every_customer_named(text, search.visible)
        )
        who = [Payment.customer_id.in_(named)]
        if "@" in text and not has_control_characters(text):
            # The whole address, as typed or in lower case: an index look-up, not a scan.
            who.append(Payment.payer_email.in_({text, text.lower()}))
        conditions.append(or_(*who))
    f = search.filters
    if f.department_id is not None:
        conditions.append(in_department({f.department_id}))
    conditions += payments_within(search.visible)
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
    start = _day_start(f.date_from, search.timezone) if f.date_from else None
    if start is not None:
        conditions.append(Payment.created_at >= start)
    end = _day_start(f.date_to, search.timezone, days_later=1) if f.date_to else None
    if end is not None:
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
    return statement.where(cursor.older(Payment.created_at, Payment.id))


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
