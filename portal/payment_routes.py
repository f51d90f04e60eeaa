from __future__ import annotations

from starlette.routing import BaseRoute, Route

from portal import find_views, payment_views

# Find what I owe, the basket, check and pay, the payment's own page.
routes: list[BaseRoute] = [
    Route("/find", find_views.find, methods=["GET", "POST"], name="find"),
    Route("/basket", find_views.basket_view, methods=["GET", "POST"], name="basket"),
    Route("/basket/remove", find_views.remove, methods=["POST"], name="basket_remove"),
    Route("/check", payment_views.check, name="check"),
    Route("/pay", payment_views.pay, methods=["POST"], name="pay"),
    Route("/pay/return", payment_views.pay_return, name="pay_return"),
    Route("/payments/{transaction_id}", payment_views.payment_view, name="payment"),
]
