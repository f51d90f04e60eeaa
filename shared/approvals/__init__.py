"""Maker-checker: restricted actions (refunds, voids, reversals, adjustments, overrides)
are asked for by one person and decided by another. `requests` holds the state machine
of an approval request and its rules: a reason is required; nobody decides their own
request, whatever their roles; the decider holds the matching `*:approve` permission and
signed in with a second factor; a request not decided in time expires; a request is
decided once, even when two supervisors press at the same moment.

What approving a request *does* belongs to the domain that asked (`shared.payments.
corrections`). May import the kernel and `shared.models` only.
"""
