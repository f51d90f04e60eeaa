"""Granular permissions and the default roles built from them."""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "customers:view": "See customers, accounts and balances",
    "balances:refresh": "Refresh account balances from their source",
    "payments:view": "See payments and their history",
    "payments:take": "Take a payment at the counter",
    "receipts:resend": "Resend a receipt",
    "notes:write": "Write interaction notes",
    "tickets:work": "Work the support queue",
    "terminals:view": "See the lobby kiosks' health",
    "refunds:request": "Request a refund",
    "refunds:approve": "Approve a refund",
    "voids:request": "Request a void",
    "voids:approve": "Approve a void",
    "adjustments:request": "Request an account adjustment",
    "adjustments:approve": "Approve an account adjustment",
    "reversals:request": "Record a reversal (chargeback, returned cheque)",
    "reversals:approve": "Approve a reversal",
    "overrides:request": "Request an override (pay a held bill or an account on hold)",
    "overrides:approve": "Approve an override",
    "exceptions:work": "Work the exceptions queue",
    "audit:view": "See the audit trail",
    "reports:view": "See reports",
    "exports:gl": "Export the general ledger",
    "drawers:operate": "Open, count and close one's own cash drawer",
    "drawers:approve": "Approve a drawer counted over or short beyond the tolerance",
    "deposits:prepare": "Prepare bank deposits from closed drawers",
    "reconciliation:work": "Import bank statements and reconcile them with deposits",
    "admin:users": "Manage staff users",
    "admin:roles": "Manage roles",
    "admin:terminals": "Manage kiosks and counter terminals",
    "admin:settings": "Change settings",
    "admin:integrations": "Manage connected systems and webhooks",
}

_VIEW = {"customers:view", "payments:view"}
_AGENT = _VIEW | {
    "balances:refresh",
    "exceptions:work",
    "receipts:resend",
    "notes:write",
    "tickets:work",
    "terminals:view",
    "refunds:request",
    "voids:request",
}

DEFAULT_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "agent": ("Customer-service agent", frozenset(_AGENT)),
    "cashier": (
        "Counter cashier",
        frozenset(_AGENT | {"payments:take", "overrides:request", "drawers:operate"}),
    ),
    "supervisor": (
        "Supervisor: approves exception actions",
        frozenset(
            _AGENT
            | {
                "payments:take",
                "adjustments:request",
                "overrides:request",
                "refunds:approve",
                "voids:approve",
                "adjustments:approve",
                "reversals:approve",
                "overrides:approve",
                "reports:view",
                "drawers:operate",
                "drawers:approve",
            }
        ),
    ),
    "finance": (
        "Finance",
        frozenset(
            _VIEW
            | {
                "reports:view",
                "exports:gl",
                "audit:view",
                "exceptions:work",
                "reversals:request",
                "deposits:prepare",
                "reconciliation:work",
            }
        ),
    ),
    "auditor": (
        "Auditor: read-only, everything",
        frozenset(_VIEW | {"audit:view", "reports:view", "terminals:view"}),
    ),
    "admin": ("Administrator", frozenset(PERMISSIONS)),
}

# How the roles screen groups the permissions; every permission is in exactly one group.
PERMISSION_GROUPS: dict[str, tuple[str, ...]] = {
    "service": (
        "customers:view",
        "balances:refresh",
        "payments:view",
        "payments:take",
        "receipts:resend",
        "notes:write",
        "tickets:work",
        "terminals:view",
        "drawers:operate",
    ),
    "exceptions": (
        "refunds:request",
        "refunds:approve",
        "voids:request",
        "voids:approve",
        "adjustments:request",
        "adjustments:approve",
        "reversals:request",
        "reversals:approve",
        "overrides:request",
        "overrides:approve",
        "exceptions:work",
        "drawers:approve",
    ),
    "oversight": (
        "audit:view",
        "reports:view",
        "exports:gl",
        "deposits:prepare",
        "reconciliation:work",
    ),
    "administration": (
        "admin:users",
        "admin:roles",
        "admin:terminals",
        "admin:settings",
        "admin:integrations",
    ),
}
