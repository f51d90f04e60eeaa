"""Helpers for tests that pay by card through the real sandbox gateway."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.gateway.sandbox.store import Payment as ProcessorPayment


def token(gateway: SandboxGateway, behaviour: Behaviour = Behaviour.APPROVE) -> str:
    """A single-use token for a test card with this behaviour, as the kiosk would get one."""
    card = next(c for c in SANDBOX_CARDS if c.behaviour is behaviour)
    return gateway.tokenize_card_present(card.number, 12, 2035, "Test Payer")


def authorizations(gateway: SandboxGateway, our_key: str) -> int:
    """How many authorizations the processor holds for our key."""
    with gateway.store.transaction() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(ProcessorPayment)
                .where(ProcessorPayment.our_key == our_key)
            )
            or 0
        )
