"""Department limits as SQL conditions: None is every department, an empty set none.

Someone holding `customers:view` but not `payments:view` has no payment departments
(`frozenset()`): an empty set read as "no limit" would show them every payment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.actors import Actor, ActorType
from shared.customers.visibility import Visible, customers_within, payments_within, within
from shared.models import Account, Customer, Payment
from tests import factories


def test_none_is_every_department_and_an_empty_set_none(db: Session) -> None:
    (bill,) = factories.bills(db, [1_500])
    account = bill.account
    payment = factories.paid_in_cash(db, bill, Actor(ActorType.STAFF, "cashier1")).payment
    department = account.department_id
    for departments, seen in [(None, True), (frozenset(), False), (frozenset({department}), True)]:
        visible = Visible(customers=departments, payments=departments)
        customers = select(Customer.id).where(
            Customer.id == account.customer_id, *customers_within(visible)
        )
        accounts = select(Account.id).where(
            Account.id == account.id, *within(Account.department_id, visible.customers)
        )
        payments = select(Payment.id).where(Payment.id == payment.id, *payments_within(visible))
        for statement in (customers, accounts, payments):
            assert (db.scalar(statement) is not None) is seen, (departments, statement)
