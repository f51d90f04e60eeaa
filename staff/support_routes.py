"""The support queue: requests from the help widget and kiosks, and what staff do on them."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import support_actions, support_views

POST = ["POST"]
REQUEST = "/support/{reference}"

routes: list[BaseRoute] = [
    Route("/support", support_views.support_queue, name="support_queue"),
    Route(REQUEST, support_views.support_request, name="support_request"),
    Route(f"{REQUEST}/assign", support_actions.assign, methods=POST, name="support_assign"),
    Route(f"{REQUEST}/status", support_actions.change_status, methods=POST, name="support_status"),
    Route(
        f"{REQUEST}/priority",
        support_actions.change_priority,
        methods=POST,
        name="support_priority",
    ),
    Route(f"{REQUEST}/reply", support_actions.reply, methods=POST, name="support_reply"),
    Route(
        f"{REQUEST}/receipt",
        support_actions.resend_receipt,
        methods=POST,
        name="support_resend_receipt",
    ),
    Route(f"{REQUEST}/note", support_actions.note, methods=POST, name="support_note"),
    Route(f"{REQUEST}/link", support_actions.link, methods=POST, name="support_link"),
    Route(f"{REQUEST}/customer", support_actions.identify, methods=POST, name="support_customer"),
    Route(f"{REQUEST}/resolve", support_actions.resolve, methods=POST, name="support_resolve"),
]
