"""Help for residents, before anyone has to write in: what a signed page context names,
resolved to live records (`context`), the answers chosen from their real state
(`answers`), and the help topics those answers and the common questions are written in
(`topics`: data, in each language, edited by an administrator).

May import the kernel, `shared.models`, and the domains whose state it reads: payments
(where a payment stands), receipts, exceptions (possible duplicates), messaging
(write-backs not confirmed yet) and interactions (what a support request is about).
"""
