"""Payments: taking one (`taking`), holding its bills while it is in doubt (`holds`), the
state machine (`states`), applying it to bills and issuing its receipt (`posting`), credits
for what it paid beyond a bill (`credits`), possible duplicates (`duplicates`), "did it go
through?" (`status`), the recovery job for payments in doubt (`recovery`), end-of-day
settlement (`settlement`) and reading typed amounts (`amount_input`). Corrective actions
(refunds, voids, reversals, adjustments, overrides) join them here.

May import the kernel (`shared.*` modules at the root), `shared.models`, the gateway
protocol, `shared.receipts` (posting issues the receipt), `shared.messaging` (posting
queues the email and the write-back) and `shared.exceptions` (what a person must look
at). Nothing here imports a front, `shared.web` or `shared.customers`.
"""
