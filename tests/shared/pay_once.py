"""Take one card payment in its own process (for the multi-process and crash tests).

    python -m tests.shared.pay_once DB_URL SANDBOX_URL KEY INVOICE TOKEN [--die-after-approval]

With --die-after-approval the process SIGKILLs itself the moment the gateway
has approved, before Paydesk can record the answer. A refused payment prints its code.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from typing import Any

from shared.actors import Actor, ActorType
from shared.db import make_engine, make_sessionmaker
from shared.gateway.protocol import Transaction
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.models import Tender
from shared.payments.taking import Item, PaymentRefused, PaymentRequest, take_payment
from tests.support.databases import TEST_KEYS


class DiesAfterApproval(SandboxGateway):
    def authorize(self, **kwargs: Any) -> Transaction:
        answer = super().authorize(**kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("db", "sandbox", "key", "invoice", "token"):
        parser.add_argument(name)
    parser.add_argument("--die-after-approval", action="store_true")
    args = parser.parse_args()
    gateway_class = DiesAfterApproval if args.die_after_approval else SandboxGateway
    gateway = gateway_class(args.sandbox, "http://testserver/sandbox-gateway")
    engine = make_engine(args.db)
    session = make_sessionmaker(engine, TEST_KEYS)()
    request = PaymentRequest(
        items=(Item(args.invoice),),
        tender=Tender.CARD,
        channel="portal",  # type: ignore[arg-type]
        idempotency_key=args.key,
        currency="CAD",
        card_token=args.token,
    )
    try:
        outcome = take_payment(
            session, gateway, request, Actor(ActorType.CITIZEN, f"pid-{os.getpid()}")
        )
    except PaymentRefused as refused:
        print(json.dumps({"refused": refused.code}))
    else:
        result = {"payment_id": outcome.payment.id, "status": str(outcome.payment.status)}
        print(json.dumps(result))
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main()
