"""The queues supervisors and back-office staff work (exceptions, approvals) and the
requests that feed them (refunds, voids, reversals, adjustments)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import approval_views, audit_views, correction_views, exception_views

POST = ["POST"]

routes: list[BaseRoute] = [
    Route("/exceptions", exception_views.exceptions, name="exceptions"),
    Route("/exceptions/{case_id:int}", exception_views.exception_detail, name="exception"),
    Route(
        "/exceptions/{case_id:int}/assign",
        exception_views.exception_assign,
        methods=POST,
        name="exception_assign",
    ),
    Route(
        "/exceptions/{case_id:int}/resolve",
        exception_views.exception_resolve,
        methods=POST,
        name="exception_resolve",
    ),
    Route("/approvals", approval_views.approvals, name="approvals"),
    Route("/approvals/{request_id:int}", approval_views.approval_detail, name="approval"),
    Route(
        "/approvals/{request_id:int}/decide",
        approval_views.decide,
        methods=POST,
        name="approval_decide",
    ),
    Route(
        "/payments/{transaction_id}/refund",
        correction_views.ask_refund,
        methods=POST,
        name="payment_refund",
    ),
    Route(
        "/payments/{transaction_id}/void",
        correction_views.ask_void,
        methods=POST,
        name="payment_void",
    ),
    Route(
        "/payments/{transaction_id}/reversal",
        correction_views.ask_reversal,
        methods=POST,
        name="payment_reversal",
    ),
    Route("/audit", audit_views.audit_log_page, name="audit"),
    Route("/audit/verify", audit_views.audit_verify, name="audit_verify"),
    Route("/audit.csv", audit_views.audit_csv, name="audit_csv"),
    Route("/customers/{customer_id:int}/audit", audit_views.customer_audit, name="customer_audit"),
    Route(
        "/customers/{customer_id:int}/adjust",
        correction_views.adjust,
        methods=["GET", "POST"],
        name="customer_adjust",
    ),
]
