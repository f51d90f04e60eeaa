"""The queues supervisors and back-office staff work: exceptions (and approvals)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import exception_views

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
]
