"""Find anything, the customer view (360°) and payment detail. Each view declares its
permission next to its definition (`staff.access.requires`)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import customer_views, payment_views, search_views

routes: list[BaseRoute] = [
    Route("/search", search_views.search_page, name="search"),
    Route("/search.csv", search_views.search_csv, name="search_csv"),
    Route("/customers/{customer_id:int}", customer_views.customer_view, name="customer"),
    Route(
        "/customers/{customer_id:int}/balances/refresh",
        customer_views.refresh_balances,
        methods=["POST"],
        name="customer_refresh_balances",
    ),
    Route("/payments/{transaction_id}", payment_views.payment_detail, name="payment"),
    Route(
        "/payments/{transaction_id}/receipt.pdf",
        payment_views.receipt_pdf_view,
        name="payment_receipt_pdf",
    ),
    Route(
        "/payments/{transaction_id}/resend",
        payment_views.resend,
        methods=["POST"],
        name="payment_resend",
    ),
]
