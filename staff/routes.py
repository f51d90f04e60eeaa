"""The staff console. Each view declares its permission (`staff.access.requires`) or is
marked `public`; tests/staff/test_routes.py fails on a route that does neither."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import (
    admin_role_views,
    admin_views,
    auth_views,
    catalog_views,
    counter_routes,
    customer_routes,
    demo_mail_views,
    finance_routes,
    help_admin_views,
    home_views,
    integration_client_views,
    integration_views,
    queue_routes,
    sso_views,
    support_routes,
    terminal_views,
    webhook_views,
)

GET_POST = ["GET", "POST"]

routes: list[BaseRoute] = [
    Route("/", home_views.home, name="home"),
    # Signing in and out
    Route("/login", auth_views.sign_in, methods=GET_POST, name="login"),
    Route("/login/code", auth_views.code, methods=GET_POST, name="login_code"),
    Route("/login/setup", auth_views.enrol, methods=GET_POST, name="login_enrol"),
    Route("/login/sso", sso_views.sso_start, name="login_sso"),
    Route("/login/sso/callback", sso_views.sso_callback, name="login_sso_callback"),
    Route("/logout", auth_views.sign_out, methods=["POST"], name="logout"),
    Route(
        "/logout/everywhere",
        auth_views.sign_out_everywhere,
        methods=["POST"],
        name="logout_everywhere",
    ),
    Route("/account/mfa", auth_views.account_mfa, methods=GET_POST, name="account_mfa"),
    Route(
        "/account/password",
        auth_views.account_password,
        methods=GET_POST,
        name="account_password",
    ),
    # Administration
    Route("/admin/users", admin_views.users, name="admin_users"),
    Route("/admin/users/new", admin_views.user_new, methods=GET_POST, name="admin_user_new"),
    Route("/admin/users/{user_id:int}", admin_views.user_detail, name="admin_user"),
    Route(
        "/admin/users/{user_id:int}/password",
        admin_views.user_password,
        methods=["POST"],
        name="admin_user_password",
    ),
    Route(
        "/admin/users/{user_id:int}/unlock",
        admin_views.user_unlock,
        methods=["POST"],
        name="admin_user_unlock",
    ),
    Route(
        "/admin/users/{user_id:int}/mfa/reset",
        admin_views.user_mfa_reset,
        methods=["POST"],
        name="admin_user_mfa_reset",
    ),
    Route(
        "/admin/users/{user_id:int}/active",
        admin_views.user_active,
        methods=["POST"],
        name="admin_user_active",
    ),
    Route(
        "/admin/users/{user_id:int}/roles",
        admin_views.user_role_add,
        methods=["POST"],
        name="admin_user_role_add",
    ),
    Route(
        "/admin/users/{user_id:int}/roles/{assignment_id:int}/remove",
        admin_views.user_role_remove,
        methods=["POST"],
        name="admin_user_role_remove",
    ),
    Route("/admin/help", help_admin_views.help_topics, name="admin_help"),
    Route(
        "/admin/help/{topic_id:int}",
        help_admin_views.help_topic,
        methods=GET_POST,
        name="admin_help_topic",
    ),
    Route("/admin/integrations", integration_views.integrations, name="admin_integrations"),
    Route(
        "/admin/integrations/clients",
        integration_client_views.clients,
        methods=GET_POST,
        name="admin_integration_clients",
    ),
    Route(
        "/admin/integrations/clients/{client_id:int}/revoke",
        integration_client_views.revoke,
        methods=["POST"],
        name="admin_integration_client_revoke",
    ),
    Route(
        "/admin/integrations/sources/{system}",
        integration_views.source,
        methods=GET_POST,
        name="admin_integration_source",
    ),
    Route(
        "/admin/integrations/sandbox/{system}",
        integration_views.sandbox_switches,
        methods=["POST"],
        name="admin_integration_sandbox",
    ),
    Route("/admin/webhooks", webhook_views.subscriptions, methods=GET_POST, name="admin_webhooks"),
    Route(
        "/admin/webhooks/{subscription_id:int}",
        webhook_views.subscription,
        methods=GET_POST,
        name="admin_webhook",
    ),
    Route(
        "/admin/webhooks/{subscription_id:int}/rotate",
        webhook_views.rotate,
        methods=["POST"],
        name="admin_webhook_rotate",
    ),
    Route(
        "/admin/webhooks/{subscription_id:int}/deliveries/{delivery_id:int}/again",
        webhook_views.send_one_again,
        methods=["POST"],
        name="admin_webhook_delivery_again",
    ),
    Route(
        "/admin/webhooks/{subscription_id:int}/again",
        webhook_views.send_range_again,
        methods=["POST"],
        name="admin_webhook_range_again",
    ),
    Route("/admin/roles", admin_role_views.roles, name="admin_roles"),
    Route("/admin/roles/new", admin_role_views.role_new, methods=GET_POST, name="admin_role_new"),
    Route(
        "/admin/roles/{role_id:int}",
        admin_role_views.role_detail,
        methods=GET_POST,
        name="admin_role",
    ),
    # Lobby kiosks: health for staff, the registry for administrators
    Route("/terminals", terminal_views.kiosks, name="terminals"),
    Route("/terminals/{terminal_id:int}", terminal_views.kiosk, name="terminal"),
    Route(
        "/admin/terminals/new",
        terminal_views.kiosk_new,
        methods=GET_POST,
        name="terminal_new",
    ),
    Route(
        "/admin/terminals/{terminal_id:int}/code",
        terminal_views.kiosk_code,
        methods=["POST"],
        name="terminal_code",
    ),
    Route(
        "/admin/terminals/{terminal_id:int}/service",
        terminal_views.kiosk_service,
        methods=["POST"],
        name="terminal_service",
    ),
    Route(
        "/admin/terminals/{terminal_id:int}/revoke",
        terminal_views.kiosk_revoke,
        methods=["POST"],
        name="terminal_revoke",
    ),
    # The demo's mail (only where mail goes to files)
    Route("/demo-mail", demo_mail_views.inbox, name="demo_mail"),
    Route("/demo-mail/{name}", demo_mail_views.message, name="demo_mail_message"),
    Route(
        "/demo-mail/{name}/attachments/{index:int}",
        demo_mail_views.attachment,
        name="demo_mail_attachment",
    ),
    # Catalog names in other languages
    Route("/admin/catalog", catalog_views.catalog, name="admin_catalog"),
    Route(
        "/admin/catalog/departments/{department_id:int}",
        catalog_views.department_names,
        methods=["POST"],
        name="admin_catalog_department",
    ),
    # Find anything, the customer view, payment detail
    *customer_routes.routes,
    # Counter payments, interactions and notes
    *counter_routes.routes,
    # The exceptions and approvals queues
    *queue_routes.routes,
    # The support queue
    *support_routes.routes,
    *finance_routes.routes,
]
