from __future__ import annotations

from starlette.routing import BaseRoute, Route

from portal import receipt_views as views

# The receipt page, PDF, email, and "did my payment go through?" (portal issue).
routes: list[BaseRoute] = [
    # The PDF first: "{number}" alone would also match "R-2025-000001.pdf".
    Route("/receipts/{number}.pdf", views.receipt_pdf_download, name="receipt_pdf"),
    Route("/receipts/{number}", views.receipt_page, name="receipt"),
    Route("/receipts/{number}/email", views.email_receipt, methods=["POST"], name="receipt_email"),
    Route("/receipts/{number}/email/sent", views.receipt_email_sent, name="receipt_email_sent"),
    Route("/status", views.status_form, methods=["GET"], name="payment_status"),
    Route("/status", views.status_lookup, methods=["POST"], name="payment_status_lookup"),
    Route("/status/{transaction_id}", views.status_result, name="payment_status_result"),
]
