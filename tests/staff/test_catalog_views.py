"""An administrator writes department and fee names in other languages; receipts and
pages then show them in the reader's language, the default one where none is written."""

from __future__ import annotations

import re

from sqlalchemy import select

from shared.actors import Actor, ActorType
from shared.db import transaction
from shared.models import AuditEvent, Department
from shared.receipts import numbering as receipts
from tests import factories
from tests.staff.conftest import Console, post, signed_in


def test_names_written_by_an_administrator_reach_receipts_and_pages(console: Console) -> None:
    with transaction(console.factory) as db:
        (bill,) = factories.bills(db, [4_000])
        department = db.get(Department, bill.account.department_id)
        assert department is not None
        department.name = "Water and Sewer"
        paid = factories.paid_in_cash(db, bill, Actor(ActorType.SYSTEM, "test")).payment
        department_id, fee_id = department.id, bill.fee_type_id
        transaction_id, customer_id = paid.transaction_id, paid.customer_id
    admin, _ = signed_in(console, ["admin"], mfa=True)
    form = admin.get("/staff/admin/catalog")
    assert form.status_code == 200 and "Water and Sewer" in form.text
    saved = post(
        admin,
        f"/staff/admin/catalog/departments/{department_id}",
        {
            f"department-{department_id}-fr": "Eau et égouts",
            f"department-{department_id}-es": "Agua y alcantarillado",
            f"fee-{fee_id}-fr": "Redevance",
            f"fee-{fee_id}-es": "",
        },
    )
    assert saved.status_code == 303
    assert 'value="Eau et égouts"' in admin.get("/staff/admin/catalog").text

    with console.factory() as db:
        receipt = receipts.by_number(db, _receipt_number(db, transaction_id))
        assert receipt is not None
        french = receipts.document(db, receipt, console.runtime.settings, "fr").lines[0]
        spanish = receipts.document(db, receipt, console.runtime.settings, "es").lines[0]
        english = receipts.document(db, receipt, console.runtime.settings, "en").lines[0]
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "admin:catalog:names_changed")
        ).all()
    assert (french.department, french.fee_type) == ("Eau et égouts", "Redevance")
    assert spanish.department == "Agua y alcantarillado"
    assert spanish.fee_type == english.fee_type  # none in Spanish: the default name
    assert english.department == "Water and Sewer"
    assert len(events) == 2  # the department and the fee type

    agent, _ = signed_in(console, ["agent"])
    page = agent.get(f"/staff/customers/{customer_id}?lang=es").text
    assert "Agua y alcantarillado" in page


def test_only_administrators_of_settings_change_names(console: Console) -> None:
    agent, _ = signed_in(console, ["agent"])
    assert agent.get("/staff/admin/catalog").status_code == 403
    with transaction(console.factory) as db:
        department_id = factories.department(db).id
    refused = post(agent, f"/staff/admin/catalog/departments/{department_id}", {})
    assert refused.status_code == 403


def test_a_name_too_long_is_refused_beside_its_field(console: Console) -> None:
    with transaction(console.factory) as db:
        department_id = factories.department(db).id
    admin, _ = signed_in(console, ["admin"], mfa=True)
    field = f"department-{department_id}-fr"
    refused = post(admin, f"/staff/admin/catalog/departments/{department_id}", {field: "x" * 201})
    assert refused.status_code == 422
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', refused.text)


def _receipt_number(db: object, transaction_id: str) -> str:
    from sqlalchemy.orm import Session

    from shared.models import Payment, Receipt

    assert isinstance(db, Session)
    return db.scalars(
        select(Receipt.receipt_number)
        .join(Payment, Receipt.payment_id == Payment.id)
        .where(Payment.transaction_id == transaction_id)
    ).one()
