from __future__ import annotations

from starlette.routing import BaseRoute, Route

from portal import views

routes: list[BaseRoute] = [
    Route("/", views.home, name="home"),
    Route("/verify/{number}", views.verify_receipt, name="verify_receipt"),
]
