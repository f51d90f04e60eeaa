from __future__ import annotations

from starlette.routing import BaseRoute, Route

from staff import finance_views as views
from staff import ledger_views, reconciliation_views, report_views

POST = ["POST"]

# Finance (issue 20): drawers, deposits, the general-ledger journal and its exports.
routes: list[BaseRoute] = [
    Route("/reports", report_views.report, name="reports"),
    Route("/reports.csv", report_views.report_csv, name="reports_csv"),
    Route("/finance/drawer", views.my_drawer, name="finance_drawer"),
    Route("/finance/drawer/open", views.open_drawer, methods=POST, name="finance_drawer_open"),
    Route(
        "/finance/drawers/{drawer_id:int}/count",
        views.count_drawer,
        methods=POST,
        name="finance_drawer_count",
    ),
    Route("/finance/drawers/{drawer_id:int}", views.drawer_detail, name="finance_drawer_detail"),
    Route("/finance/deposits", views.deposit_list, name="finance_deposits"),
    Route("/finance/deposits", views.deposit_prepare, methods=POST, name="finance_deposit_prepare"),
    Route("/finance/deposits/{deposit_id:int}", views.deposit_detail, name="finance_deposit"),
    Route(
        "/finance/deposits/{deposit_id:int}/slip.pdf",
        views.deposit_slip,
        name="finance_deposit_slip",
    ),
    Route(
        "/finance/reconciliation",
        reconciliation_views.reconciliation,
        name="finance_reconciliation",
    ),
    Route(
        "/finance/reconciliation/import",
        reconciliation_views.import_statement,
        methods=POST,
        name="finance_statement_import",
    ),
    Route(
        "/finance/reconciliation/match",
        reconciliation_views.match_by_hand,
        methods=POST,
        name="finance_match",
    ),
    Route(
        "/finance/statements/{statement_id:int}",
        reconciliation_views.statement_detail,
        name="finance_statement",
    ),
    Route("/finance/journal", ledger_views.journal_day, name="finance_journal"),
    Route(
        "/finance/journal/export",
        ledger_views.journal_export,
        methods=POST,
        name="finance_journal_export",
    ),
    Route(
        "/finance/journal/entries/{entry_id:int}", ledger_views.entry_detail, name="finance_entry"
    ),
    Route("/finance/exports/{export_id:int}", ledger_views.export_detail, name="finance_export"),
    Route(
        "/finance/exports/{export_id:int}/journal.csv",
        ledger_views.export_csv,
        name="finance_export_csv",
    ),
    Route(
        "/finance/exports/{export_id:int}/journal.txt",
        ledger_views.export_fixed,
        name="finance_export_fixed",
    ),
]
