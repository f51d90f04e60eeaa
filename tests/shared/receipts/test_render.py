from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import zlib
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import Money
from shared.receipts.document import ReceiptDocument, ReceiptLine
from shared.receipts.layout import Columns, QrCode, Text, render_text
from shared.receipts.render.html import qr_svg, receipt_html
from shared.receipts.render.layout import receipt_layout
from shared.receipts.render.pdf import receipt_pdf

VERIFY_URL = "https://payments.riverton.example/verify/R-2026-000123?s=Zm9vYmFyYmF6cXV4cXV1"


def receipt(locale: str = "en", tender: str = "cash", **changes: object) -> ReceiptDocument:
    lines = (
        ReceiptLine(
            department="Travaux publics",
            fee_type="Permis de rénovation",
            account_number="ACC-00001-AB12",
            invoice_number="INV-00002-CD34",
            description="Permis 2026",
            gl_account="4000-100",
            amount=Money(12_050, "CAD"),
        ),
        ReceiptLine(
            department="Urbanismo y diseño",
            fee_type="Señalización ¿temporal?",
            account_number="ACC-00003-EF56",
            invoice_number="INV-00004-GH78",
            description="Tasa 2026",
            gl_account="4000-200",
            amount=Money(123_456, "CAD"),
        ),
    )
    doc = ReceiptDocument(
        org_name="City of Riverton",
        receipt_number="R-2026-000123",
        transaction_id="TX-4K7Q-2M9X-D4HJ",
        issued_at=dt.datetime(2026, 9, 12, 14, 5, 33, tzinfo=dt.UTC),
        payer_name="José Ñúñez-Éloïse",
        channel="counter",
        tender=tender,
        card_brand="visa" if tender == "card" else None,
        card_last4="4242" if tender == "card" else None,
        cheque_number="001234" if tender == "cheque" else None,
        cash_tendered=Money(140_000, "CAD") if tender == "cash" else None,
        change_due=Money(4_494, "CAD") if tender == "cash" else None,
        lines=lines,
        total=Money(135_506, "CAD"),
        status="posted",
        verify_url=VERIFY_URL,
        locale=locale,
    )
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


# -- plain text (receipt printers) ---------------------------------------------------------


@pytest.mark.parametrize("width", [42, 48])
@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_text_fits_the_printer_and_right_aligns_amounts(width: int, locale: str) -> None:
    doc = receipt(locale)
    lines = render_text(receipt_layout(doc), width)
    assert all(len(line) <= width for line in lines), [ln for ln in lines if len(ln) > width]
    for amount in (*(line.amount for line in doc.lines), doc.total):
        formatted = amount.format(locale)
        (line,) = [ln for ln in lines if ln.endswith(formatted)]
        assert len(line) == width
    text = flat(lines)
    for expected in ("R-2026-000123", "TX-4K7Q-2M9X-D4HJ", "José Ñúñez-Éloïse", "rénovation"):
        assert expected in text
    assert "Urbanismo y diseño — Señalización ¿temporal?" in text


def flat(lines: list[str]) -> str:
    """The lines as one string, wrapping and padding undone (no-break spaces kept)."""
    return re.sub(" +", " ", " ".join(lines))


def test_text_in_french() -> None:
    text = flat(render_text(receipt_layout(receipt("fr")), 42))
    assert "Reçu officiel" in text
    assert "Numéro de reçu" in text
    assert "12 septembre 2026" in text
    assert "1\xa0355,06\xa0$" in text
    assert "Montant remis" in text
    assert "Monnaie rendue" in text
    assert "Payé" in text
    assert "Balayez le code pour vérifier l’authenticité de ce reçu" in text


def test_text_in_spanish() -> None:
    text = flat(render_text(receipt_layout(receipt("es")), 48))
    assert "Recibo oficial" in text
    assert "Número de recibo" in text
    assert "12 de septiembre de 2026" in text
    assert "Efectivo entregado" in text
    assert "Cambio" in text
    assert "Pagado" in text
    assert "Escanee el código para comprobar que este recibo es auténtico" in text


def test_layout_order_and_emphasis() -> None:
    blocks = receipt_layout(receipt()).blocks
    org, title = blocks[0], blocks[1]
    assert isinstance(org, Text)
    assert org.text == "City of Riverton"
    assert org.bold
    assert org.large
    assert isinstance(title, Text)
    assert title.text == "Official receipt"
    (total,) = [b for b in blocks if isinstance(b, Columns) and b.left == "TOTAL"]
    assert total.bold
    assert total.right == "$1,355.06"
    qr = blocks[-1]
    assert qr == QrCode(VERIFY_URL, caption="Scan to check this receipt is genuine")


@pytest.mark.parametrize(
    ("tender", "expected"),
    [
        ("card", ["Payment method", "Visa •••• 4242"]),
        ("cash", ["Payment method", "Cash", "Cash tendered", "$1,400.00", "Change due", "$44.94"]),
        ("cheque", ["Payment method", "Cheque", "Cheque number", "001234"]),
    ],
)
def test_tender(tender: str, expected: list[str]) -> None:
    text = "\n".join(render_text(receipt_layout(receipt(tender=tender)), 42))
    for part in expected:
        assert part in text
    if tender != "cash":
        assert "Change due" not in text


def test_refunded_receipt_says_so() -> None:
    text = "\n".join(render_text(receipt_layout(receipt("fr", status="refunded")), 42))
    assert "Remboursé" in text


names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=90
).filter(str.strip)


@given(
    org=names,
    payer=names,
    department=names,
    fee=names,
    minor=st.integers(min_value=0, max_value=10**11),
    locale=st.sampled_from(["en", "fr", "es"]),
    width=st.sampled_from([42, 48]),
)
def test_no_line_is_ever_wider_than_the_printer(
    org: str, payer: str, department: str, fee: str, minor: int, locale: str, width: int
) -> None:
    base = receipt(locale)
    line = dataclasses.replace(
        base.lines[0], department=department, fee_type=fee, amount=Money(minor, "CAD")
    )
    doc = dataclasses.replace(
        base, org_name=org, payer_name=payer, lines=(line,), total=Money(minor, "CAD")
    )
    assert all(len(text) <= width for text in render_text(receipt_layout(doc), width))


# -- HTML --------------------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_html_is_a_semantic_table_with_no_inline_style_or_script() -> None:
    html = str(receipt_html(receipt()))
    found = tags(html)
    names = [tag for tag, _ in found]
    assert "script" not in names
    assert "style" not in names
    assert not [
        attrs for _, attrs in found if "style" in attrs or any(a.startswith("on") for a in attrs)
    ]
    assert "caption" in names
    scopes = [attrs.get("scope") for tag, attrs in found if tag == "th"]
    assert scopes.count("col") == 5
    assert scopes.count("row") == 3
    for text in ("Travaux publics", "Permis de rénovation", "Urbanismo y diseño", "$1,355.06"):
        assert text in html
    (link,) = [attrs for tag, attrs in found if tag == "a"]
    assert link["href"] == VERIFY_URL


def test_html_escapes_what_people_typed() -> None:
    html = str(receipt_html(receipt(payer_name='<script>alert("x")</script>')))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("fr", ["Reçu officiel", "Service", "Montant", "Vérifier l’authenticité de ce reçu"]),
        (
            "es",
            ["Recibo oficial", "Departamento", "Importe", "Comprobar que este recibo es auténtico"],
        ),
    ],
)
def test_html_is_translated(locale: str, words: list[str]) -> None:
    html = str(receipt_html(receipt(locale)))
    for word in words:
        assert word in html


def test_each_language_keeps_its_own_words() -> None:
    titles = {"en": "Official receipt", "fr": "Reçu officiel", "es": "Recibo oficial"}
    for locale in ["es", "fr", "en", "es", "en", "fr"]:
        html = str(receipt_html(receipt(locale)))
        assert [title for title in titles.values() if title in html] == [titles[locale]]


def test_qr_svg_is_inline_titled_and_unstyled() -> None:
    svg = str(qr_svg(VERIFY_URL, title='Check <receipt> & "verify"'))
    assert svg.startswith("<svg")
    assert "<title>Check &lt;receipt&gt; &amp;" in svg
    assert "style" not in svg
    assert "<script" not in svg
    assert "<?xml" not in svg
    assert VERIFY_URL.replace("&", "&amp;") in str(qr_svg(VERIFY_URL))


# -- PDF ---------------------------------------------------------------------------------


def pdf_objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Each object's dictionary and its (inflated) stream, read in order so stream bytes
    are never mistaken for syntax."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    pos = 0
    while match := re.compile(rb"(\d+) 0 obj").search(data, pos):
        start = match.end()
        end, stream = data.find(b"endobj", start), data.find(b"stream", start)
        if stream == -1 or end < stream:
            objects[int(match[1])] = (data[start:end], None)
            pos = end
            continue
        head = data[start:stream]
        length = re.search(rb"/Length (\d+)", head)
        assert length is not None
        body_start = (
            stream + len(b"stream") + (2 if data[stream + 6 : stream + 8] == b"\r\n" else 1)
        )
        body = data[body_start : body_start + int(length[1])]
        objects[int(match[1])] = (head, zlib.decompress(body) if b"/FlateDecode" in head else body)
        pos = data.index(b"endobj", body_start + int(length[1]))
    return objects


def _unescape(literal: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(match: re.Match[bytes]) -> bytes:
        escaped = match[1]
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return simple.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_text(data: bytes) -> list[str]:
    """The text runs fpdf2 drew, decoded through each font's ToUnicode map (enough PDF
    for our own output: Type0 fonts, 2-byte codes, Tj with literal strings)."""
    objects = pdf_objects(data)
    to_unicode: dict[bytes, dict[int, str]] = {}
    for head, _ in objects.values():
        fonts = re.search(rb"/Font\s*<<(.*?)>>", head, re.S)
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", fonts[1] if fonts else b""):
            cmap_ref = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)][0])
            assert cmap_ref is not None
            cmap = objects[int(cmap_ref[1])][1] or b""
            codes: dict[int, str] = {}
            for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
                for code, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                    codes[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
            for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
                for low, high, uni in re.findall(
                    rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
                ):
                    for offset in range(int(high, 16) - int(low, 16) + 1):
                        codes[int(low, 16) + offset] = chr(int(uni, 16) + offset)
            to_unicode[name] = codes
    runs: list[str] = []
    for head, body in objects.values():
        if body is None or b"BT" not in body or b"/Subtype" in head:
            continue
        font: dict[int, str] = {}
        for match in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) ?Tj", body, re.S):
            if match[1]:
                font = to_unicode[match[1]]
                continue
            raw = _unescape(match[2])
            runs.append(
                "".join(font[int.from_bytes(raw[i : i + 2])] for i in range(0, len(raw), 2))
            )
    return runs


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_pdf_has_the_receipt_in_a_unicode_font(
    locale: str, caplog: pytest.LogCaptureFixture
) -> None:
    doc = receipt(locale)
    with caplog.at_level(logging.WARNING):
        data = receipt_pdf(doc)
    assert data.startswith(b"%PDF-")
    # fpdf2 logs the characters a font lacks; there must be none.
    assert not [r for r in caplog.records if r.name.startswith("fpdf")]
    text = "\n".join(pdf_text(data))
    assert doc.receipt_number in text
    for line in doc.lines:
        assert line.department in text
        assert line.amount.format(locale) in text
    assert doc.total.format(locale) in text
    assert "José Ñúñez-Éloïse" in text
    assert "¿temporal?" in text
    assert re.search(rb"/Title \(R-2026-000123\)", data)


def test_pdf_in_euros_with_a_qr_code() -> None:
    doc = receipt("fr", total=Money(135_506, "EUR"), cash_tendered=None, change_due=None)
    data = receipt_pdf(doc)
    text = pdf_text(data)
    assert "1\u202f355,06\xa0€" in text or "1\xa0355,06\xa0€" in text
    assert "Reçu officiel" in text
    assert VERIFY_URL in text
    assert b"/Subtype /Image" in data
    assert receipt_pdf(doc) == data, "the same receipt renders to the same file"
