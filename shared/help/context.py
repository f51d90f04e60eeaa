"""A help widget's context: the server-signed token a page handed it, resolved to the
records as they are now.

A token that is forged, altered, expired or names nothing we hold resolves to None, the
same None for every reason: the widget then offers general help, exactly as on a page
with no context, so nobody can learn from it which references exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.context_ref import SignedContext, read_context
from shared.interactions import support
from shared.models import Payment, Receipt, Terminal

KIOSK = "kiosk"
# A kiosk page with nothing on screen yet names only the terminal it runs on.
TERMINAL_KIND = "terminal"


@dataclass(frozen=True, slots=True)
class Resolved:
    """The signed context and what it names now. `about` is None for a terminal alone."""

    signed: SignedContext
    about: support.About | None
    payment: Payment | None
    receipt: Receipt | None
    # The terminal the page was shown on, if a kiosk page signed it.
    kiosk: support.Kiosk | None = None


def resolve(session: Session, secret: str, token: str) -> Resolved | None:
    signed = read_context(secret, token) if token else None
    if signed is None:
        return None
    kiosk = _kiosk(session, signed)
    if signed.kind == TERMINAL_KIND:
        return Resolved(signed, None, None, None, kiosk) if kiosk else None
    about = support.about(session, signed.kind, signed.ident)
    if about is None:
        return None
    payment: Payment | None = None
    receipt: Receipt | None = None
    if about.kind in ("payment", "receipt"):
        row = session.execute(
            select(Payment, Receipt)
            .outerjoin(Receipt, Receipt.payment_id == Payment.id)
            .where(Payment.transaction_id == about.links[0][1])
        ).first()
        if row is not None:
            payment, receipt = row
    return Resolved(signed, about, payment, receipt, kiosk)


def _kiosk(session: Session, signed: SignedContext) -> support.Kiosk | None:
    if signed.channel != KIOSK or not signed.terminal:
        return None
    terminal = session.scalars(select(Terminal).where(Terminal.code == signed.terminal)).first()
    # Signed by us, so the code is trusted even for a terminal not registered here yet.
    return support.Kiosk(signed.terminal, terminal.location if terminal else signed.terminal)
