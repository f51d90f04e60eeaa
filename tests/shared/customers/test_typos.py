"""Close matches: names and emails typed with a typo or two, only when nothing is exact."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from shared.customers import search
from shared.customers.typos import (
    close_to_a_term,
    one_typo_spellings,
    typo_distance,
)
from shared.customers.visibility import Visible
from shared.models import Customer
from tests import factories


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("zeo", "zoe", 1),  # neighbours swapped
        ("chn", "chen", 1),  # a letter left out
        ("cheen", "chen", 1),  # a letter added
        ("chan", "chen", 1),  # a letter changed
        ("tremblya", "tremblay", 1),
        ("trmblya", "tremblay", 2),
        ("lavoie", "lavoie", 0),
    ],
)
def test_typo_distance(a: str, b: str, distance: int) -> None:
    assert typo_distance(a, b, 2) == distance


def test_a_word_may_be_the_start_of_a_term_with_its_typos() -> None:
    assert close_to_a_term("tremb", {"tremblay"})  # a start, exact
    assert close_to_a_term("trmeb", {"tremblay"})  # a start, swapped
    assert close_to_a_term("chn", {"chen"})
    assert not close_to_a_term("xyz", {"chen"})
    assert not close_to_a_term("chn", {"cohen"})  # two typos: too many for 3 letters


def test_one_typo_spellings() -> None:
    spellings = one_typo_spellings("chn")
    assert {"chen", "cn", "hcn", "chm"} <= spellings and "chn" not in spellings


@pytest.fixture
def people(db: Session) -> dict[str, int]:
    made = {
        "amira": factories.customer(db, "Amira Chen", "amira.chen@example.org"),
        "zoe": factories.customer(db, "Zoé Lavoie", "zoe@lavoie.example"),
        "emilie": factories.customer(db, "Émilie Tremblay", "emilie@example.org"),
        "amir": factories.customer(db, "Amir Chenier"),
    }
    db.flush()
    return {key: c.id for key, c in made.items()}


@pytest.mark.parametrize(
    ("typed", "who"),
    [
        ("Amira Chn", "amira"),
        ("Zeo Lavoie", "zoe"),
        ("Zoe Lavoei", "zoe"),  # the anchor is the other word
        ("Tremblya", "emilie"),  # one word, no anchor: its one-typo spellings
        ("emilie@exmaple.org", "emilie"),  # an email with its domain misspelt
        ("emlie@example.org", "emilie"),  # and with its first part misspelt
        ("Emilie Trmblya", "emilie"),  # two typos in a long word
    ],
)
def test_a_typo_or_two_finds_them_when_nothing_is_exact(
    db: Session, people: dict[str, int], typed: str, who: str
) -> None:
    found = search.match_customers(db, typed)
    assert found.ids == ()
    assert people[who] in found.close


def test_exact_matches_come_alone_and_first(db: Session, people: dict[str, int]) -> None:
    found = search.match_customers(db, "Amira Chen")
    assert found.ids == (people["amira"],) and found.close == ()


def test_nothing_close_is_nothing(db: Session, people: dict[str, int]) -> None:
    assert search.match_customers(db, "Qwxz Plmk") == search.CustomerMatch()
    # Digits are never stretched: a wrong number names someone else.
    assert search.match_customers(db, "Amira 4243").close == ()


def test_close_matches_stay_within_what_one_may_see(db: Session, people: dict[str, int]) -> None:
    elsewhere = factories.department(db)
    factories.account(db, db.get(Customer, people["amira"]), elsewhere)  # type: ignore[arg-type]
    db.flush()
    limited = Visible(customers=frozenset({elsewhere.id + 1}))
    assert search.match_customers(db, "Amira Chn", visible=limited).close == ()
    mine = Visible(customers=frozenset({elsewhere.id}))
    assert search.match_customers(db, "Amira Chn", visible=mine).close == (people["amira"],)
