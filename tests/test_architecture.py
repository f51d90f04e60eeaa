"""The dependency rules of DESIGN.md §2, checked on every import in the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONTS = {"portal", "staff", "kiosk", "support_widget", "integrations"}
OURS = FRONTS | {"paydesk", "shared", "kiosk_devices"}
# kiosk_devices runs on a kiosk with no database: only small value types may come in.
KIOSK_DEVICES_MAY_IMPORT = {"shared.receipts.layout"}

# The kernel: small modules at the root of shared/ that every part uses. A module added
# at the root must be named here (or be a domain module below), so a domain's code does
# not pile up beside the kernel unnoticed.
KERNEL = {
    "actors",
    "audit",
    "audit_log",
    "card_numbers",
    "config",
    "context_ref",
    "db",
    "i18n",
    "identifiers",
    "catalog_names",
    "local_time",
    "luhn",
    "migrate",
    "money",
    "permissions",
    "rate_limit",
    "search_terms",
}
# Domain code still kept as a single module at the root, until it grows into a package.
ROOT_DOMAIN_MODULES: set[str] = set()

# What each part of shared/ may import, besides itself. "kernel" is the modules above,
# "models" the tables. Lower layers never reach up: the kernel and the models import no
# domain; the gateway keeps its own state (no models); the domains import no web
# plumbing; customers know nothing of payments, receipts nothing of payments.
MAY_IMPORT: dict[str, set[str]] = {
    "kernel": {"models"},
    "models": {"kernel"},
    "gateway": {"kernel"},
    "auth": {"kernel", "models"},
    "web": {"kernel", "models", "auth"},
    # An exception opened is a webhook event (`shared.messaging.webhooks`).
    "exceptions": {"kernel", "models", "messaging"},
    "approvals": {"kernel", "models"},
    # Finance reads settlement reports (the gateway's value types) and asks for approvals;
    # payments put counter cash into drawers and card batches into deposits.
    "finance": {"kernel", "models", "gateway", "approvals"},
    "messaging": {"kernel", "models", "exceptions"},
    # Reconciliation matches bank lines with finance's deposits and opens breaks.
    "reconciliation": {"kernel", "models", "exceptions"},
    "customers": {"kernel", "models"},
    "receipts": {"kernel", "models", "messaging"},
    "payments": {
        "kernel",
        "models",
        "gateway",
        "messaging",
        "receipts",
        "exceptions",
        "approvals",
        "finance",
    },
    "interactions": {"kernel", "models", "customers", "messaging"},
    "terminals": {"kernel", "models"},
    # Integration clients sign and check their tokens the way kiosks do.
    "integration_clients": {"kernel", "models", "terminals"},
    # Pulled balances are applied to the bills held here, minding what payments hold.
    "balance_sources": {"kernel", "models", "customers", "messaging", "payments"},
    "help": {
        "kernel",
        "models",
        "payments",
        "receipts",
        "exceptions",
        "messaging",
        "interactions",
    },
}
# Packages whose __init__.py holds only their docstring: importing one submodule (the
# kiosk importing the receipt layout) must not drag in the rest.
DOCSTRING_ONLY_PACKAGES = {
    "payments",
    "receipts",
    "customers",
    "messaging",
    "gateway",
    "exceptions",
    "approvals",
    "finance",
    "reconciliation",
    "interactions",
    "help",
    "terminals",
}


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "shared":  # `from shared import audit` imports shared.audit
                names.extend(f"shared.{alias.name}" for alias in node.names)
            else:
                names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _imports(package: str) -> list[tuple[Path, str]]:
    return [
        (path, name)
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in OURS
    ]


def _part_of_shared(module: str) -> str:
    """The part of shared/ a dotted module belongs to: a package, "kernel" or a root domain."""
    name = module.split(".")[1]
    if name in KERNEL:
        return "kernel"
    return name


@pytest.mark.parametrize("front", sorted(FRONTS))
def test_fronts_never_import_each_other_or_the_entry(front: str) -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, name in _imports(front)
        if name.split(".")[0] in (FRONTS | {"paydesk"}) - {front}
    ]
    assert bad == []


def test_shared_imports_no_front() -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, name in _imports("shared")
        if name.split(".")[0] in FRONTS | {"paydesk", "kiosk_devices"}
    ]
    assert bad == []


def test_kiosk_devices_imports_only_small_value_types() -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {name}"
        for path, name in _imports("kiosk_devices")
        if name.split(".")[0] != "kiosk_devices" and name not in KIOSK_DEVICES_MAY_IMPORT
    ]
    assert bad == []


def test_every_module_at_the_root_of_shared_is_kernel_or_a_named_domain_module() -> None:
    at_root = {path.stem for path in (ROOT / "shared").glob("*.py")} - {"__init__"}
    assert at_root - KERNEL - ROOT_DOMAIN_MODULES == set()


def test_every_part_of_shared_has_import_rules() -> None:
    packages = {path.parent.name for path in (ROOT / "shared").glob("*/__init__.py")}
    assert packages | ROOT_DOMAIN_MODULES | {"kernel"} == set(MAY_IMPORT)


def layering_violations(modules: list[tuple[str, list[str]]]) -> list[str]:
    """`module: import` for each import of shared/ that its part's rules do not allow."""
    bad = []
    for module, imported in modules:
        part = _part_of_shared(module)
        for name in imported:
            if not name.startswith("shared."):
                continue
            target = _part_of_shared(name)
            if target != part and target not in MAY_IMPORT[part]:
                bad.append(f"{module} ({part}): {name} ({target})")
    return bad


def _shared_modules() -> list[tuple[str, list[str]]]:
    return [
        (".".join(path.relative_to(ROOT).with_suffix("").parts), _imported_modules(path))
        for path in (ROOT / "shared").rglob("*.py")
    ]


def test_each_part_of_shared_imports_only_what_its_layer_allows() -> None:
    assert layering_violations(_shared_modules()) == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("shared.money", "shared.payments.taking"),  # the kernel reaching into a domain
        ("shared.models.payments", "shared.receipts.numbering"),
        ("shared.customers.search", "shared.payments.status"),
        ("shared.receipts.email", "shared.payments.posting"),
        ("shared.messaging.outbox", "shared.web.sessions"),
        ("shared.gateway.protocol", "shared.models"),
        ("shared.auth.login", "shared.web.sessions"),
        ("shared.interactions.support", "shared.payments.status"),
    ],
)
def test_the_rules_catch_an_import_that_runs_up(module: str, imported: str) -> None:
    assert layering_violations([(module, [imported])]) != []


@pytest.mark.parametrize("package", sorted(DOCSTRING_ONLY_PACKAGES))
def test_domain_packages_open_with_a_docstring_and_nothing_else(package: str) -> None:
    tree = ast.parse((ROOT / "shared" / package / "__init__.py").read_text())
    assert ast.get_docstring(tree), f"shared/{package}/__init__.py needs its docstring"
    assert len(tree.body) == 1, f"shared/{package}/__init__.py holds more than its docstring"
