from __future__ import annotations

from starlette.routing import BaseRoute, Route

from portal import payment_routes, receipt_routes, views

routes: list[BaseRoute] = [
    Route("/", views.home, name="home"),
    Route("/verify/{number}", views.verify_receipt, name="verify_receipt"),
    *payment_routes.routes,
    *receipt_routes.routes,
]
