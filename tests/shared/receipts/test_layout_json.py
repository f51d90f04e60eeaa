from __future__ import annotations

import json

import pytest

from shared.receipts.layout import Align, Blank, Columns, QrCode, ReceiptLayout, Rule, Text
from shared.receipts.layout_json import LayoutFormatError, from_json, to_json
from shared.receipts.render.layout import receipt_layout

from .test_render import receipt


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_a_real_receipt_survives_the_trip_through_json(locale: str) -> None:
    layout = receipt_layout(receipt(locale, tender="card"))
    wire = json.loads(json.dumps(to_json(layout)))
    assert from_json(wire) == layout


def test_every_kind_of_block_comes_back_as_it_went() -> None:
    layout = ReceiptLayout(
        (
            Text("Hôtel de ville", Align.CENTER, bold=True, large=True),
            Columns("Eau — décembre", "12,34 $", bold=True),
            Rule("="),
            QrCode("https://pay.example/verify/R-2026-000001?s=abc", "Vérifier"),
            Blank(),
        )
    )
    assert from_json(to_json(layout)) == layout


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"kind": "text"}, "a list of blocks"),
        ([{"kind": "barcode", "data": "1"}], "block 0: unknown kind 'barcode'"),
        ([{"kind": "blank"}, {"kind": "text", "text": 5}], "block 1: 'text' must be text"),
        ([{"kind": "text", "text": "x", "align": "justify"}], "unknown alignment"),
        ([{"kind": "columns", "left": "a", "right": "b", "bold": "yes"}], "true or false"),
        ([{"kind": "rule", "char": "--"}], "one character"),
        (["text"], "block 0: not an object"),
    ],
)
def test_anything_else_is_refused_naming_the_block(data: object, says: str) -> None:
    with pytest.raises(LayoutFormatError, match=says):
        from_json(data)
