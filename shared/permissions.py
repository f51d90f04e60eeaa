"""Granular permissions and the default roles built from them."""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "customers:view": "See customers, accounts and balances",
    "payments:view": "See payments and their history",
    "payments:take": "Take a payment at the counter",
    "receipts:resend": "Resend a receipt",
    "notes:write": "Write interaction notes",
    "tickets:work": "Work the support queue",
    "refunds:request": "Request a refund",
    "refunds:approve": "Approve a refund",
    "voids:request": "Request a void",
    "voids:approve": "Approve a void",
    "adjustments:request": "Request an account adjustment",
    "adjustments:approve": "Approve an account adjustment",
    "audit:view": "See the audit trail",
    "reports:view": "See reports",
    "exports:gl": "Export the general ledger",
    "admin:users": "Manage staff users",
    "admin:roles": "Manage roles",
    "admin:terminals": "Manage kiosks and counter terminals",
    "admin:settings": "Change settings",
}

_VIEW = {"customers:view", "payments:view"}
_AGENT = _VIEW | {
    "receipts:resend",
    "notes:write",
    "tickets:work",
    "refunds:request",
    "voids:request",
}

DEFAULT_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "agent": ("Customer-service agent", frozenset(_AGENT)),
    "cashier": ("Counter cashier", frozenset(_AGENT | {"payments:take"})),
    "supervisor": (
        "Supervisor: approves exception actions",
        frozenset(
            _AGENT
            | {
                "payments:take",
                "adjustments:request",
                "refunds:approve",
                "voids:approve",
                "adjustments:approve",
                "reports:view",
            }
        ),
    ),
    "finance": ("Finance", frozenset(_VIEW | {"reports:view", "exports:gl", "audit:view"})),
    "auditor": (
        "Auditor: read-only, everything",
        frozenset(_VIEW | {"audit:view", "reports:view"}),
    ),
    "admin": ("Administrator", frozenset(PERMISSIONS)),
}

# How the roles screen groups the permissions; every permission is in exactly one group.
PERMISSION_GROUPS: dict[str, tuple[str, ...]] = {
    "service": (
        "customers:view",
        "payments:view",
        "payments:take",
        "receipts:resend",
        "notes:write",
        "tickets:work",
    ),
    "exceptions": (
        "refunds:request",
        "refunds:approve",
        "voids:request",
        "voids:approve",
        "adjustments:request",
        "adjustments:approve",
    ),
    "oversight": ("audit:view", "reports:view", "exports:gl"),
    "administration": ("admin:users", "admin:roles", "admin:terminals", "admin:settings"),
}
