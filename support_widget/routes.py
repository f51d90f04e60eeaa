"""The help widget: its script and stylesheet, and its screens (each a page without
JavaScript, a fragment for the widget's panel). See `support_widget.views`."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from support_widget import assets, views
from support_widget.guard import preflight

GET_OPTIONS = ["GET", "OPTIONS"]

routes: list[BaseRoute] = [
    Route("/", views.help_page, name="home"),
    Route("/widget.js", assets.script, name="widget_js"),
    Route("/widget.css", assets.stylesheet, name="widget_css"),
    Route("/contact", views.contact_form, methods=["GET"], name="contact"),
    Route("/contact", views.contact_submit, methods=["POST"], name="contact_submit"),
    Route("/receipt", views.email_receipt, methods=["POST"], name="email_receipt"),
    Route("/call", views.call_for_help, methods=["POST"], name="call"),
    # A browser asks before a cross-site request with the widget's header.
    Route("/{path:path}", preflight, methods=["OPTIONS"], name="preflight"),
]
