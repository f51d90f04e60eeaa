"""Payments: taking one (`taking`), the state machine (`states`), applying it to bills and
issuing its receipt (`posting`), "did it go through?" (`status`), the recovery job for
payments in doubt (`recovery`), end-of-day settlement (`settlement`) and reading typed
amounts (`amount_input`). Corrective actions (refunds, voids, reversals, adjustments)
and holds join them here.

May import the kernel (`shared.*` modules at the root), `shared.models`, the gateway
protocol, `shared.receipts` (posting issues the receipt) and `shared.messaging` (posting
queues the email and the write-back). Nothing here imports a front, `shared.web` or
`shared.customers`.
"""
