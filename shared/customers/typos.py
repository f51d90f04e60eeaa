"""Close matches for a name or email typed with a typo or two ("Amira Chn", "Zeo Lavoie").

Asked only when nothing matches exactly, so a search that finds someone costs what it
did, and close matches always come after exact ones. No index of misspellings is kept:
the candidates come from what *was* typed right, read with the same range scans as an
exact search, and are then compared word by word in Python:

- a word that starts some terms anchors the search: the customers it finds are the
  candidates (the rarest anchors first, about `CANDIDATES` in all, so a very common
  word is read only in part), and every other word must be within one typo (words up to
  4 letters) or two (longer) of the start of one of their terms;
- an email anchors on its part before `@` (addresses starting with it) and on its domain;
- when no word starts any term, the one-typo spellings of the longest word are looked up
  as whole terms (one indexed `IN`), so a lone misspelt name is found too.

A typo is a letter left out, added, changed, or two neighbours swapped (optimal string
alignment). Words of digits (phones, numbers) and words under 3 letters are never
stretched: a wrong digit names someone else.
"""

from __future__ import annotations

import string

from sqlalchemy import ColumnElement, and_, func, literal, select
from sqlalchemy.orm import Session

from shared.customers.visibility import EVERYTHING, Visible, known_in
from shared.models import CustomerSearchTerm
from shared.search_terms import prefix_end, query_words

# Customers read per anchor: enough for a common first name's bearers in a city's
# records, few enough to compare in Python in a few milliseconds.
CANDIDATES = 2_000
MIN_LENGTH = 3
_ALPHABET = string.ascii_lowercase + string.digits
_EMAIL_ALPHABET = _ALPHABET + ".-_@+"


def allowed_typos(word: str) -> int:
    return 1 if len(word) <= 4 else 2


def typo_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or `limit + 1` as soon as it must exceed it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def close_to_a_term(word: str, terms: set[str]) -> bool:
    """`word` is the start of one of `terms`, give or take its allowed typos."""
    limit = allowed_typos(word)
    for term in terms:
        for length in range(max(1, len(word) - limit), len(word) + limit + 1):
            if length > len(term) and length != len(word):
                continue
            if typo_distance(word, term[:length], limit) <= limit:
                return True
    return False


def _stretchable(word: str) -> bool:
    return len(word) >= MIN_LENGTH and not word.isdigit()


def _starting(word: str) -> ColumnElement[bool]:
    end = prefix_end(word)
    column = CustomerSearchTerm.term
    return and_(column >= word, column < end) if end is not None else column >= word


def _customers_by(db: Session, condition: ColumnElement[bool], visible: Visible) -> set[int]:
    statement = select(CustomerSearchTerm.customer_id).where(condition)
    if visible.customers is not None:
        statement = statement.where(known_in(CustomerSearchTerm.customer_id, visible.customers))
    return set(db.scalars(statement.limit(CANDIDATES)))


def one_typo_spellings(word: str) -> set[str]:
    """Every spelling one typo away from `word` (left out, added, changed, swapped)."""
    letters = _EMAIL_ALPHABET if "@" in word or "." in word else _ALPHABET
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    spellings = {a + b[1:] for a, b in cuts if b}
    spellings |= {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
    spellings |= {a + c + b[1:] for a, b in cuts if b for c in letters}
    spellings |= {a + c + b for a, b in cuts for c in letters}
    spellings.discard(word)
    return spellings


def _anchor_counts(db: Session, anchors: list[ColumnElement[bool]]) -> list[int]:
    """How many terms each anchor finds, counting no further than `CANDIDATES` (one query)."""
    counts = [
        select(func.count())
        .select_from(select(literal(1)).where(anchor).limit(CANDIDATES).subquery())
        .scalar_subquery()
        for anchor in anchors
    ]
    return [int(n) for n in db.execute(select(*counts)).one()]


def _candidates(db: Session, words: list[str], visible: Visible) -> set[int]:
    """The customers found by what was typed right, the rarest anchors first."""
    anchors: list[ColumnElement[bool]] = []
    for word in words:
        if "@" in word:
            local, _, domain = word.partition("@")
            if len(local) >= MIN_LENGTH:
                anchors.append(_starting(f"{local}@"))
            if "." in domain:
                anchors.append(CustomerSearchTerm.term == domain)
        else:
            anchors.append(_starting(word))
    found: set[int] = set()
    counts = _anchor_counts(db, anchors) if anchors else []
    for count, anchor in sorted(zip(counts, anchors, strict=True), key=lambda pair: pair[0]):
        if count and len(found) < CANDIDATES:
            found |= _customers_by(db, anchor, visible)
    if not any(counts):
        longest = max((w for w in words if _stretchable(w)), key=len, default=None)
        if longest is not None:
            spellings = sorted(one_typo_spellings(longest))
            found |= _customers_by(db, CustomerSearchTerm.term.in_(spellings), visible)
    return found


def close_matches(
    db: Session, text: str, limit: int, visible: Visible = EVERYTHING
) -> tuple[int, ...]:
    """Up to `limit` customers every typed word of which starts one of their terms, give
    or take a typo or two per word (in id order: pages list them by name). For when
    nothing matches exactly."""
    words = query_words(text)
    if not words or not any(_stretchable(w) for w in words):
        return ()
    candidates = _candidates(db, words, visible)
    if not candidates:
        return ()
    terms: dict[int, set[str]] = {}
    rows = db.execute(
        select(CustomerSearchTerm.customer_id, CustomerSearchTerm.term).where(
            CustomerSearchTerm.customer_id.in_(sorted(candidates))
        )
    )
    for customer_id, term in rows:
        terms.setdefault(customer_id, set()).add(term)

    def matches(customer_terms: set[str]) -> bool:
        for word in words:
            if any(term.startswith(word) for term in customer_terms):
                continue
            if not _stretchable(word) or not close_to_a_term(word, customer_terms):
                return False
        return True

    close = sorted(cid for cid, found in terms.items() if matches(found))
    return tuple(close[:limit])
