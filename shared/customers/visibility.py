"""What someone limited to some departments may find, as SQL conditions.

`Visible` names the departments (None: every department); the helpers turn it into
WHERE conditions for customers, accounts, invoices and payments. Search and
identifier look-up share them, so a record outside someone's departments answers
exactly like one that does not exist, wherever it is looked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, literal, select

from shared.models import Account, Allocation, Customer, Payment


@dataclass(frozen=True, slots=True)
class Visible:
    """The departments whose records someone may find (None: every department): customers,
    accounts and invoices by `customers`, payments and receipts by `payments`."""

    customers: frozenset[int] | None = None
    payments: frozenset[int] | None = None


EVERYTHING = Visible()


def probe(statement: Select[Any]) -> ColumnElement[bool]:
    # A correlated look-up with LIMIT 1, not EXISTS: PostgreSQL would turn EXISTS into a
    # hash join that reads every matching row; this probes once per outer row.
    return statement.limit(1).scalar_subquery().is_not(None)


def in_department(departments: frozenset[int] | set[int]) -> ColumnElement[bool]:
    return exists(
        select(literal(1)).where(
            Allocation.payment_id == Payment.id, Allocation.department_id.in_(departments)
        )
    )


def known_in(customer_id: Any, departments: frozenset[int]) -> ColumnElement[bool]:
    """Whether the customer holds an account in one of `departments`: whom someone limited
    to them may find (the customer page answers 404 for anyone else)."""
    return probe(
        select(literal(1)).where(
            Account.customer_id == customer_id, Account.department_id.in_(departments)
        )
    )


def within(column: Any, departments: frozenset[int] | None) -> list[ColumnElement[bool]]:
    return [] if departments is None else [column.in_(departments)]


def customers_within(visible: Visible) -> list[ColumnElement[bool]]:
    return [] if visible.customers is None else [known_in(Customer.id, visible.customers)]


def payments_within(visible: Visible) -> list[ColumnElement[bool]]:
    return [] if visible.payments is None else [in_department(visible.payments)]
