"""Citizen portal pages. The full pay journey arrives with the portal issue; for now:
the landing page and the public receipt verification page the QR code points to."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from portal.templating import templates
from shared.config import Settings
from shared.receipts import numbering as receipts
from shared.web.endpoint import page


def home(request: Request) -> Response:
    return templates.TemplateResponse(request, "portal/home.html", {})


def mask_name(name: str) -> str:
    """'Jane Smith' -> 'J*** S***': enough to recognise, not enough to learn."""
    return " ".join(part[0] + "***" for part in name.split() if part)


@page
def verify_receipt(request: Request, db: Session) -> Response:
    settings: Settings = request.app.state.settings
    number = request.path_params["number"]
    receipt = receipts.by_number(db, number)
    given = request.query_params.get("s", "")
    genuine = receipt is not None and receipts.signature_ok(
        settings.secret_key, receipt.receipt_number, receipt.payment.amount, given
    )
    context: dict[str, object] = {"number": number, "genuine": genuine}
    if genuine and receipt is not None:
        doc = receipts.document(db, receipt, settings, request.state.locale)
        context.update(doc=doc, payer=mask_name(doc.payer_name))
    return templates.TemplateResponse(
        request, "portal/verify.html", context, status_code=200 if genuine else 404
    )
