"""The terms a customer is found by, and what typed text becomes: no database."""

from __future__ import annotations

import pytest

from shared.search_terms import (
    customer_terms,
    fold,
    has_control_characters,
    prefix_end,
    query_words,
    word_forms,
)


def test_fold_strips_accents_and_case() -> None:
    assert fold("Émilie Çağlar Núñez") == "emilie caglar nunez"
    assert fold(None) is None


def test_customer_terms() -> None:
    terms = customer_terms("Émilie Tremblay-Roy", "Emilie.T@Example.org", "+1 (613) 555-0199")
    assert terms == {
        "emilie", "tremblay", "roy",
        "emilie.t@example.org", "example.org",
        "16135550199", "6135550199", "5550199", "0199",
    }  # fmt: skip
    assert customer_terms("Zoé", None, None) == {"zoe"}
    assert customer_terms("", "", "n/a") == set()


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("  Émilie   TREMB ", ["emilie", "tremb"]),
        ("tremblay-roy", ["tremblay", "roy"]),
        ("O'Brien", ["o", "brien"]),
        ("(613) 555-0199", ["6135550199"]),
        ("+1 613.555.0199", ["16135550199"]),
        ("12", ["12"]),
        ("EN@Example", ["en@example"]),
        ("@example.org", ["example.org"]),
        ("emilie.t", ["emilie.t"]),
        ("J. Smith", ["j", "smith"]),
        ("emilie Emilie", ["emilie"]),
        ("% _ ", []),
    ],
)
def test_query_words(typed: str, words: list[str]) -> None:
    assert query_words(typed) == words


def test_prefix_end_is_just_above_every_string_with_the_prefix() -> None:
    assert prefix_end("emil") == "emim"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") is None
    assert prefix_end("\ud7ff") == "\ue000"
    for word in ("emil", "emilie", "emil\U0010ffff", "emil\uffff"):
        assert "emil" <= word < (prefix_end("emil") or "")


def test_control_characters_separate_words() -> None:
    # NUL cannot reach PostgreSQL inside a word; a tab or newline pasted in is a space.
    assert query_words("a@b\x00") == ["a@b"]
    assert query_words("emilie\x07trem\tblay") == ["emilie", "trem", "blay"]
    assert has_control_characters("a@b\x00") and has_control_characters("x\ud800")
    assert not has_control_characters("Émilie\tTremblay\n")


def test_a_north_american_number_with_its_country_code_is_also_the_national_number() -> None:
    assert word_forms("16135550199") == ("16135550199", "6135550199")
    for word in ("6135550199", "26135550199", "1613555019", "emilie"):
        assert word_forms(word) == (word,)
