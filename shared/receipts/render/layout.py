"""A receipt as device-neutral blocks: printed at 42/48 columns, drawn in the PDF.

Values of unbounded length (names of the payer, departments and fees) go in
`Text` blocks, which wrap; `Columns` hold only short values (numbers, amounts,
dates) so a line never runs past the printer's width.
"""

from __future__ import annotations

from shared.i18n import translations
from shared.receipts.document import ReceiptDocument
from shared.receipts.layout import Align, Blank, Block, Columns, QrCode, ReceiptLayout, Rule, Text
from shared.receipts.render.wording import (
    after_total_rows,
    issued_date,
    issued_time,
    status_text,
    tender_rows,
)


def receipt_layout(doc: ReceiptDocument) -> ReceiptLayout:
    _ = translations(doc.locale).gettext
    blocks: list[Block] = [
        Text(doc.org_name, Align.CENTER, bold=True, large=True),
        Text(_("Official receipt"), Align.CENTER, bold=True),
        Blank(),
        Columns(_("Receipt number"), doc.receipt_number),
        Columns(_("Date"), issued_date(doc)),
        Columns(_("Time"), issued_time(doc)),
        Columns(_("Transaction"), doc.transaction_id),
    ]
    if doc.payer_name:
        blocks.append(Text(_("Paid by: %(name)s") % {"name": doc.payer_name}))
    blocks.append(Rule())
    for line in doc.lines:
        blocks += [
            Text(f"{line.department} — {line.fee_type}", bold=True),
            Text(_("Account %(number)s") % {"number": line.account_number}),
            Columns(
                _("Invoice %(number)s") % {"number": line.invoice_number},
                line.amount.format(doc.locale),
            ),
        ]
    blocks += [
        Rule(),
        Columns(_("Total").upper(), doc.total.format(doc.locale), bold=True),
        *(Columns(label, value) for label, value in after_total_rows(doc)),
        *(Columns(label, value) for label, value in tender_rows(doc)),
        Columns(_("Status"), status_text(doc)),
        Rule(),
        QrCode(doc.verify_url, caption=_("Scan to check this receipt is genuine")),
    ]
    return ReceiptLayout(tuple(blocks))
