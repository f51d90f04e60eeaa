"""Finance: counter cash drawers, bank deposits and the general-ledger journal.

A cashier opens a drawer with a float; counter cash and cheque payments taken while it is
open belong to it (the link is written in the payment's own transaction); closing counts
it by denomination, and an over/short past the tolerance waits for a supervisor through
the approvals machinery. Closed drawers go into a deposit bag with a printed slip; each
card settlement batch becomes an expected deposit net of the processor's fees. Every
posted payment, correction, over/short and batch of card fees becomes one balanced
journal entry on one day; a day once exported is closed, and what arrives for it later
lands on the next open day. Owns `DrawerSession`, `Deposit`, `SettlementBatchRecord` and
the `Gl*` tables; it imports no other domain package but approvals.
"""
