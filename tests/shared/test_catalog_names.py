"""Department and fee names, and bill descriptions, in the reader's language."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from shared.catalog_names import bill_description, name_in, set_translations
from tests import factories


def test_a_name_in_each_language_falls_back_to_the_default(db: Session) -> None:
    water = factories.department(db, name="Water and Sewer")
    assert set_translations(water, {"fr": "Eau et égouts", "es": ""})
    db.flush()
    assert name_in(water, "fr", "en") == "Eau et égouts"
    assert name_in(water, "es", "en") == "Water and Sewer"  # none written: the default language
    assert name_in(water, "en", "en") == "Water and Sewer"
    # Changed, then removed by leaving it blank.
    assert set_translations(water, {"fr": "Eau et égout"})
    assert not set_translations(water, {"fr": "Eau et égout"})
    db.flush()
    assert name_in(water, "fr", "en") == "Eau et égout"
    assert set_translations(water, {"fr": "  "})
    db.flush()
    db.expire_all()
    assert name_in(water, "fr", "en") == "Water and Sewer"


def test_a_bill_for_a_month_is_described_in_the_readers_language(db: Session) -> None:
    (bill,) = factories.bills(db, [4_275])
    fee = bill.fee_type
    fee.name = "Sewer charge"
    set_translations(fee, {"fr": "Redevance d’égout", "es": "Cargo por alcantarillado"})
    bill.period = dt.date(2026, 12, 1)
    db.flush()
    assert bill_description(bill, "en", "en") == "Sewer charge — December 2026"
    assert bill_description(bill, "fr", "en") == "Redevance d’égout — décembre 2026"
    assert bill_description(bill, "es", "en") == "Cargo por alcantarillado — diciembre de 2026"
    # A bill its source system described keeps that description, as given.
    bill.period = None
    assert bill_description(bill, "fr", "en") == bill.description
