"""Receipts: gap-free numbers and signatures (`numbering`), what a receipt says
(`document`), its device-neutral printer layout (`layout`), its renderings (`render/`:
HTML, PDF, email message) and emailing it through the outbox (`email`).

May import the kernel, `shared.models` and `shared.messaging`; never `shared.payments`
(payments issue receipts, not the other way round). `layout` imports nothing of ours,
because `kiosk_devices` prints it on a kiosk machine with no database; so this file
imports nothing either.
"""
