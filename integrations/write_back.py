"""Sending write-backs: a signed JSON POST to the source system that holds the account.

The request (one per account a payment touched):

    POST <the system's URL from PAYDESK_WRITE_BACK_URLS>
    Content-Type: application/json
    Idempotency-Key: paydesk-write-back-<id>     the same on every retry
    Paydesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

    {"event": "payment.posted", "id": ..., "transaction_id": ..., "receipt_number": ...,
     "posted_at": ..., "currency": ..., "account_number": ..., "amount": ...,
     "lines": [{"invoice_number": ..., "fee_type": ..., "amount": ...,
                "owing_after": ...}]}

Amounts are integers in minor units. A 2xx answer confirms the write-back; anything
else, or no answer, raises and the outbox tries again later (it never gives up on a
write-back: the flag on the customer view stays until the system takes it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit, outbox, receipts
from shared.actors import SYSTEM
from shared.config import Settings
from shared.db import utcnow
from shared.models import (
    Account,
    Allocation,
    FeeType,
    Invoice,
    OutboxMessage,
    Payment,
    WriteBack,
    WriteBackStatus,
)

SIGNATURE_HEADER = "Paydesk-Signature"
TIMEOUT_SECONDS = 10.0


class WriteBackRefused(RuntimeError):
    """The source system answered, but not with a 2xx."""


def signature(secret: str, body: bytes, at: int) -> str:
    """The signature header's value: a receiver recomputes v1 from t and the raw body."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def document(session: Session, wb: WriteBack) -> dict[str, Any]:
    """What the source system is told: this payment, on this account, paid these bills."""
    payment = session.get_one(Payment, wb.payment_id)
    account = session.get_one(Account, wb.account_id)
    receipt = receipts.for_payment(session, payment)
    lines = session.execute(
        select(Allocation.amount, Invoice.invoice_number, Invoice.amount_due, Invoice.amount_paid)
        .add_columns(FeeType.code)
        .join(Invoice, Allocation.invoice_id == Invoice.id)
        .join(FeeType, Allocation.fee_type_id == FeeType.id)
        .where(Allocation.payment_id == payment.id, Allocation.account_id == account.id)
        .order_by(Allocation.id)
    ).all()
    return {
        "event": "payment.posted",
        "id": f"paydesk-write-back-{wb.id}",
        "transaction_id": payment.transaction_id,
        "receipt_number": receipt.receipt_number if receipt else None,
        "posted_at": payment.posted_at.isoformat() if payment.posted_at else None,
        "channel": payment.channel.value,
        "tender": payment.tender.value,
        "currency": payment.currency,
        "account_number": account.account_number,
        "amount": wb.amount,
        "lines": [
            {
                "invoice_number": number,
                "fee_type": fee_type,
                "amount": amount,
                # What the bill still owes in Paydesk's books now (later payments included).
                "owing_after": max(due - paid, 0),
            }
            for amount, number, due, paid, fee_type in lines
        ],
    }


def write_back_handler(settings: Settings) -> outbox.Handler:
    """The outbox handler for `write_back` messages."""

    def handle(session: Session, message: OutboxMessage) -> None:
        wb = session.scalars(
            select(WriteBack).where(
                WriteBack.payment_id == message.payload["payment_id"],
                WriteBack.account_id == message.payload["account_id"],
            )
        ).one()
        if wb.status is WriteBackStatus.CONFIRMED:
            return
        target = settings.write_back_target(wb.source_system)
        if target is None:
            raise LookupError(
                f"no write-back address for source system {wb.source_system!r} "
                "(PAYDESK_WRITE_BACK_URLS)"
            )
        document_ = document(session, wb)
        body = json.dumps(document_, separators=(",", ":")).encode()
        answer = httpx.post(
            target.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": document_["id"],
                SIGNATURE_HEADER: signature(target.secret, body, int(time.time())),
            },
            timeout=TIMEOUT_SECONDS,
        )
        if not answer.is_success:
            raise WriteBackRefused(f"{target.system} answered HTTP {answer.status_code}")
        wb.status = WriteBackStatus.CONFIRMED
        wb.confirmed_at = utcnow()
        audit.record(
            session,
            SYSTEM,
            audit.AuditAction.WRITE_BACK_CONFIRMED,
            "payment",
            document_["transaction_id"],
            {
                "source_system": wb.source_system,
                "account_number": document_["account_number"],
                "amount": wb.amount,
                "http_status": answer.status_code,
            },
        )

    return handle
