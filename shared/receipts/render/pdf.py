"""A receipt as a PDF (fpdf2): the printer layout drawn in a column on a page.

The font is DejaVu Sans, vendored in shared/receipts/fonts/ so accents, ñ, ¿ and € render
wherever this runs.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from shared.i18n import translations
from shared.receipts.document import ReceiptDocument
from shared.receipts.layout import Align as LayoutAlign
from shared.receipts.layout import Blank, Columns, QrCode, Rule, Text
from shared.receipts.render.layout import receipt_layout

FONTS_DIR = Path(__file__).resolve().parents[1] / "fonts"
FONT = "DejaVu"
COLUMN_MM = 130
SIZE, LARGE_SIZE, SMALL_SIZE = 10, 16, 8
LINE_MM = 5.5
QR_MM = 38

_ALIGN = {LayoutAlign.LEFT: Align.L, LayoutAlign.CENTER: Align.C, LayoutAlign.RIGHT: Align.R}


def receipt_pdf(doc: ReceiptDocument) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", FONTS_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
    margin = (pdf.w - COLUMN_MM) / 2
    pdf.set_margins(margin, 20, margin)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title(doc.receipt_number)
    pdf.set_subject(translations(doc.locale).gettext("Official receipt"))
    pdf.set_author(doc.org_name)
    pdf.set_creator("Paydesk")
    pdf.set_lang(doc.locale)
    # The receipt's own time, so rendering the same receipt twice gives the same file.
    pdf.set_creation_date(doc.issued_at)
    pdf.add_page()
    for block in receipt_layout(doc).blocks:
        match block:
            case Text(text=text, align=align, bold=bold, large=large):
                pdf.set_font(FONT, "B" if bold else "", LARGE_SIZE if large else SIZE)
                height = LINE_MM * (1.5 if large else 1)
                pdf.multi_cell(
                    0, height, text, align=_ALIGN[align], new_x=XPos.LMARGIN, new_y=YPos.NEXT
                )
            case Columns(left=left, right=right, bold=bold):
                _columns(pdf, left, right, bold)
            case Rule():
                y = pdf.get_y() + LINE_MM / 2
                pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
                pdf.ln(LINE_MM)
            case QrCode(data=data, caption=caption):
                _qr(pdf, data, caption)
            case Blank():
                pdf.ln(LINE_MM)
    return bytes(pdf.output())


def _columns(pdf: FPDF, left: str, right: str, bold: bool) -> None:
    """The label wraps on the left; the value sits on the label's first line, on the right."""
    pdf.set_font(FONT, "B" if bold else "", SIZE)
    right_width = pdf.get_string_width(right) + 2
    label_width = pdf.epw - right_width
    height = pdf.multi_cell(label_width, LINE_MM, left, dry_run=True, output="HEIGHT")
    assert isinstance(height, float)
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()
    pdf.multi_cell(label_width, LINE_MM, left, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + label_width, top)
    pdf.cell(right_width, LINE_MM, right, align=Align.R)
    pdf.set_xy(pdf.l_margin, bottom)


def _qr(pdf: FPDF, data: str, caption: str) -> None:
    png = io.BytesIO()
    segno.make(data, error="m").save(png, kind="png", scale=8, border=2)
    if pdf.will_page_break(QR_MM + 3 * LINE_MM):
        pdf.add_page()
    pdf.ln(LINE_MM / 2)
    pdf.image(png, x=(pdf.w - QR_MM) / 2, w=QR_MM, h=QR_MM, link=data)
    pdf.set_font(FONT, "", SIZE)
    pdf.multi_cell(0, LINE_MM, caption, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", SMALL_SIZE)
    pdf.multi_cell(0, LINE_MM, data, align=Align.C, link=data, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
