"""The kiosk's routes, under wherever the kiosk app is mounted."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kiosk import views

STATIC = Path(__file__).resolve().parent / "static"

routes: list[BaseRoute] = [
    Route("/", views.welcome, name="welcome"),
    Route("/start", views.start, methods=["POST"], name="start"),
    Route("/find", views.find, methods=["GET", "POST"], name="find"),
    Route("/bills", views.bills, methods=["GET", "POST"], name="bills"),
    Route("/card", views.card, name="card"),
    Route("/card/cancel", views.card_cancel, methods=["POST"], name="card_cancel"),
    Route("/card/retry", views.card_retry, methods=["POST"], name="card_retry"),
    Route("/simulate/card", views.simulate_card, methods=["POST"], name="simulate_card"),
    Route("/receipt", views.receipt, name="receipt"),
    Route("/receipt/email", views.receipt_email, methods=["POST"], name="receipt_email"),
    Route("/finish", views.finish, methods=["POST"], name="finish"),
    Route("/thanks", views.thanks, name="thanks"),
    Route("/reset", views.reset, methods=["POST"], name="reset"),
    Route("/alive", views.alive, methods=["POST"], name="alive"),
    Route("/state.json", views.state, name="state"),
    Route("/help", views.help_call, methods=["POST"], name="help"),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
