"""Interactions: every contact with a customer (a call, a counter visit, an email) with its
notes, links and outcome (`contacts`), and the support requests that arrive from the help
widget or a kiosk and wait without an assignee in the team queue until someone takes them
(`support`, numbered by `numbering`, timed by `sla`, listed by `queue`, answered by
`replies`).

May import the kernel, `shared.models`, `shared.customers` (identifying a caller) and
`shared.messaging` (emails go through the outbox). The widget's help, which reads
payments and receipts, calls into it, never the other way round.
"""
