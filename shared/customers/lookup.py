"""Find a citizen's account from what is printed on the bill: a number and a second factor.

Used by the portal and (later) the kiosk. The number is an account number or an
invoice number; the second factor is the account's access code or the customer's
postal code. A wrong number and a wrong factor must look the same from outside,
so the same queries run and the same comparisons are made either way.
"""

from __future__ import annotations

import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from shared.models import Account, Invoice

# Compared against when there is no account, so a miss does the same work as a hit.
_NO_SECRET = "\x00" * 16


def normalise(text: str) -> str:
    """Case and spaces do not matter: 'k1a 0b1' is 'K1A0B1'."""
    return "".join(text.split()).upper()


def _same(given: str, expected: str | None) -> bool:
    secret = normalise(expected) if expected else _NO_SECRET
    return hmac.compare_digest(given.encode(), secret.encode())


def find_account(db: Session, number: str, factor: str) -> Account | None:
    """The account `number` (an account or invoice number) names, if `factor` matches.

    Returns None for an unknown number and for a wrong factor alike."""
    wanted = normalise(number)
    given = normalise(factor)
    by_account = db.scalars(
        select(Account)
        .where(Account.account_number == wanted)
        .options(joinedload(Account.customer))
    ).one_or_none()
    by_invoice = db.scalars(
        select(Account)
        .join(Invoice, Invoice.account_id == Account.id)
        .where(Invoice.invoice_number == wanted)
        .options(joinedload(Account.customer))
    ).one_or_none()
    account = by_account or by_invoice
    code = account.access_code if account else None
    postal = account.customer.postal_code if account else None
    # Both comparisons always run (no short-circuit), and an empty factor never matches.
    code_ok = _same(given, code)
    postal_ok = _same(given, postal)
    if account is None or not given or not (code_ok | postal_ok):
        return None
    return account
