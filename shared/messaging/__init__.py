"""Messages that leave Paydesk: the transactional outbox (`outbox`), sending email
(`mailer`) and telling source systems that their bills were paid (`write_back`);
webhooks join them.

May import the kernel, `shared.models` and `shared.exceptions` (a write-back that keeps
failing is queued for a person). What a message says is decided by the
domain that queues it (receipts, payments); this package only stores and delivers it.
"""
