from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import counter_card_views, counter_overrides, counter_views, interaction_views

POST = ["POST"]

# Counter payments, interactions, notes and follow-ups (staff console issue).
routes: list[BaseRoute] = [
    # Take a payment at the counter (payments:take); the form's POST goes through the card
    # views so that a card tender can open the gateway's card page.
    Route("/customers/{customer_id:int}/pay", counter_views.pay_page, name="counter_pay"),
    Route(
        "/customers/{customer_id:int}/pay",
        counter_card_views.pay,
        methods=POST,
        name="counter_pay_take",
    ),
    Route("/counter/return", counter_card_views.card_return, name="counter_return"),
    Route(
        "/customers/{customer_id:int}/override",
        counter_overrides.ask,
        methods=POST,
        name="counter_override",
    ),
    # Interactions (read: customers:view; change: notes:write)
    Route(
        "/customers/{customer_id:int}/interactions",
        interaction_views.start,
        methods=POST,
        name="interaction_start",
    ),
    Route(
        "/customers/{customer_id:int}/interactions",
        interaction_views.customer_history,
        name="customer_interactions",
    ),
    Route("/interactions/new", interaction_views.new, name="interaction_new"),
    Route(
        "/interactions/new",
        interaction_views.start_about,
        methods=POST,
        name="interaction_new_start",
    ),
    Route("/interactions/{interaction_id:int}", interaction_views.detail, name="interaction"),
    Route(
        "/interactions/{interaction_id:int}/notes",
        interaction_views.add_note,
        methods=POST,
        name="interaction_note",
    ),
    Route(
        "/interactions/{interaction_id:int}/customer",
        interaction_views.identify,
        methods=["POST"],
        name="interaction_customer",
    ),
    Route(
        "/interactions/{interaction_id:int}/links",
        interaction_views.attach,
        methods=POST,
        name="interaction_link",
    ),
    Route(
        "/interactions/{interaction_id:int}/outcome",
        interaction_views.set_outcome,
        methods=POST,
        name="interaction_outcome",
    ),
    Route(
        "/interactions/{interaction_id:int}/follow-up",
        interaction_views.follow_up,
        methods=POST,
        name="interaction_follow_up",
    ),
    Route(
        "/interactions/{interaction_id:int}/follow-up/done",
        interaction_views.follow_up_done,
        methods=POST,
        name="interaction_follow_up_done",
    ),
    Route(
        "/interactions/{interaction_id:int}/end",
        interaction_views.end,
        methods=POST,
        name="interaction_end",
    ),
]
