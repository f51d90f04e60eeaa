"""Demo data: five departments, fifty residents, open bills, payments in every state.

Deterministic (fixed random seed) so screenshots and walkthroughs stay the same.
Payments go through the real services and the sandbox gateway.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from paydesk.demo_support import seed_support
from shared import audit
from shared.actors import SYSTEM, Actor, ActorType
from shared.approvals import requests
from shared.auth.staff_users import create_staff, ensure_default_roles
from shared.balance_sources import configuration
from shared.balance_sources.sandbox import SandboxBooks
from shared.catalog_names import set_translations
from shared.config import SANDBOX_SOURCE_MOUNT, Settings
from shared.db import utcnow
from shared.finance import deposits, drawers, journal
from shared.gateway.protocol import PaymentGateway
from shared.gateway.sandbox.cards import SANDBOX_CARDS, Behaviour
from shared.gateway.sandbox.gateway import SandboxGateway
from shared.local_time import in_zone
from shared.messaging import webhooks
from shared.messaging.webhooks import EVENT_TYPES
from shared.messaging.write_back import LOCAL
from shared.models import (
    Account,
    AccountStatus,
    Channel,
    Customer,
    Department,
    Deposit,
    DrawerSession,
    FeeType,
    Invoice,
    Payment,
    StaffUser,
    Tender,
)
from shared.payments import corrections, recovery, settlement
from shared.payments.taking import Item, PaymentRequest, take_payment
from shared.reconciliation import book as reconciliation

UTILITY_BILLING = "utility-billing"
# Departments whose bills are held in another system: each payment is written back there
# (the demo plays that system with the sandbox source system). The rest are held here.
SOURCE_SYSTEMS = {"utilities": UTILITY_BILLING}

# The catalog's names in French and Spanish (an administrator edits them at
# /staff/admin/catalog); English is the default language.
TRANSLATED = {
    "Property Tax": ("Impôt foncier", "Impuesto predial"),
    "Property tax instalment": ("Versement d’impôt foncier", "Cuota del impuesto predial"),
    "Water and Sewer": ("Eau et égouts", "Agua y alcantarillado"),
    "Water service": ("Service d’eau", "Servicio de agua"),
    "Sewer charge": ("Redevance d’égout", "Cargo por alcantarillado"),
    "Building Permits": ("Permis de construction", "Permisos de construcción"),
    "Building permit fee": ("Frais de permis de construction", "Tasa de permiso de construcción"),
    "Accounts Receivable": ("Comptes clients", "Cuentas por cobrar"),
    "Municipal services invoice": (
        "Facture de services municipaux",
        "Factura de servicios municipales",
    ),
    "Bylaw Enforcement": ("Application des règlements", "Cumplimiento de ordenanzas"),
    "Parking fine": ("Contravention de stationnement", "Multa de estacionamiento"),
}

DEPARTMENTS = [
    # code, name, account prefix,
    # fee types (code, name, GL account, partial allowed, typical amount)
    (
        "tax",
        "Property Tax",
        "TAX",
        [("property_tax", "Property tax instalment", "4100-100", True, 185_000)],
    ),
    (
        "utilities",
        "Water and Sewer",
        "UTL",
        [
            ("water", "Water service", "4200-100", True, 8_450),
            ("sewer", "Sewer charge", "4200-200", True, 4_275),
        ],
    ),
    (
        "permits",
        "Building Permits",
        "PRM",
        [("building_permit", "Building permit fee", "4300-100", False, 32_500)],
    ),
    (
        "invoicing",
        "Accounts Receivable",
        "AR",
        [("misc_invoice", "Municipal services invoice", "4400-100", True, 12_000)],
    ),
    (
        "enforcement",
        "Bylaw Enforcement",
        "ENF",
        [("parking_fine", "Parking fine", "4500-100", False, 7_500)],
    ),
]

FIRST = [
    "Jane",
    "Émilie",
    "José",
    "Amira",
    "Liam",
    "Chloé",
    "Mateo",
    "Priya",
    "Noah",
    "Sofía",
    "Wei",
    "Olivia",
    "Mohammed",
    "Zoé",
    "Lucas",
    "Fatima",
    "Ethan",
    "Camila",
    "Hiroshi",
    "Ava",
]
LAST = [
    "Smith",
    "Tremblay",
    "García",
    "Haddad",
    "Nguyen",
    "Roy",
    "Martínez",
    "Patel",
    "Côté",
    "Wilson",
    "Chen",
    "Gagnon",
    "Ramírez",
    "Okafor",
    "Bouchard",
    "Kowalski",
    "Singh",
    "Lavoie",
]
STREETS = ["Maple Ave", "rue Principale", "King St", "Riverside Dr", "chemin du Lac", "Oak Cres"]

DEMO_PASSWORDS = {
    role: f"demo-{role}-password"
    for role in ("agent", "cashier", "supervisor", "finance", "auditor", "admin")
}


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    accounts: int
    invoices: int
    payments: int


def is_seeded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Department)))


def _in_other_languages(name: str) -> dict[str, str]:
    french, spanish = TRANSLATED[name]
    return {"fr": french, "es": spanish}


def _catalog(session: Session) -> list[tuple[Department, str, list[tuple[FeeType, int]]]]:
    out = []
    for code, name, prefix, fees in DEPARTMENTS:
        dept = Department(code=code, name=name)
        set_translations(dept, _in_other_languages(name))
        session.add(dept)
        session.flush()
        fee_rows = []
        for fee_code, fee_name, gl, partial, amount in fees:
            fee = FeeType(
                department_id=dept.id,
                code=fee_code,
                name=fee_name,
                gl_account=gl,
                allows_partial=partial,
            )
            set_translations(fee, _in_other_languages(fee_name))
            session.add(fee)
            fee_rows.append((fee, amount))
        out.append((dept, prefix, fee_rows))
    session.flush()
    return out


def _people(
    session: Session,
    rng: random.Random,
    catalog: list[tuple[Department, str, list[tuple[FeeType, int]]]],
) -> list[Invoice]:
    today = utcnow().date()
    invoices: list[Invoice] = []
    serial = 0
    for n in range(1, 51):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        customer = Customer(
            customer_number=f"C-{n:06d}",
            name=f"{first} {last}",
            email=f"{first.lower()}.{last.lower()}{n}@example.org".encode(
                "ascii", "ignore"
            ).decode(),
            phone=f"+1 613 555 {rng.randint(0, 9999):04d}",
            address=f"{rng.randint(1, 999)} {rng.choice(STREETS)}, Riverton",
            postal_code=f"K{rng.randint(1, 9)}A {rng.randint(1, 9)}B{rng.randint(1, 9)}",
            preferred_locale=rng.choice(["en", "en", "fr", "es"]),
        )
        session.add(customer)
        session.flush()
        # Everyone pays tax and water; some also have a permit, an invoice or a fine.
        depts = catalog[:2] + rng.sample(catalog[2:], k=rng.randint(0, 3))
        for dept, prefix, fees in depts:
            status = AccountStatus.ACTIVE
            reason = None
            if n == 7 and dept.code == "utilities":
                status, reason = AccountStatus.HOLD, "Meter dispute under review"
            elif n == 9 and dept.code == "tax":
                status, reason = AccountStatus.CLOSED, "Property sold"
            elif n == 11 and dept.code == "tax":
                status = AccountStatus.COLLECTIONS
            account = Account(
                account_number=f"{prefix}-{100000 + n * 10 + len(invoices) % 10}",
                department_id=dept.id,
                customer_id=customer.id,
                status=status,
                status_reason=reason,
                access_code=f"{rng.randint(0, 999999):06d}",
                source_system=SOURCE_SYSTEMS.get(dept.code, LOCAL),
                balance_as_of=utcnow(),
            )
            session.add(account)
            session.flush()
            for fee, typical in fees:
                serial += 1
                amount = typical + rng.randint(-typical // 4, typical // 4) // 100 * 100
                invoice = Invoice(
                    invoice_number=f"B-{today.year}-{serial:06d}",
                    account_id=account.id,
                    fee_type_id=fee.id,
                    description=f"{fee.name} — {today:%B %Y}",
                    # Written in each reader's language from the fee type and the month.
                    period=today.replace(day=1),
                    amount_due=amount,
                    due_date=today + dt.timedelta(days=rng.randint(-20, 45)),
                )
                session.add(invoice)
                account.balance += amount
                invoices.append(invoice)
    session.flush()
    return invoices


def _card_token(sandbox: SandboxGateway, behaviour: Behaviour) -> str:
    """A token for a sandbox test card, as the kiosk's card reader would obtain one."""
    card = next(c for c in SANDBOX_CARDS if c.behaviour is behaviour)
    return sandbox.tokenize_card_present(card.number, 12, utcnow().year + 3, None)


def _payments(
    session: Session,
    gateway: PaymentGateway,
    sandbox: SandboxGateway | None,
    invoices: list[Invoice],
    rng: random.Random,
    settings: Settings,
) -> int:
    payable = [
        i for i in invoices if i.account.status in (AccountStatus.ACTIVE, AccountStatus.COLLECTIONS)
    ]
    made = 0

    def pay(invoice: Invoice, tender: Tender, channel: Channel, **kw: object) -> Payment:
        nonlocal made
        request = PaymentRequest(
            items=(Item(invoice.invoice_number),),
            tender=tender,
            channel=channel,
            idempotency_key=f"demo-{uuid.uuid4()}",
            currency="CAD",
            **kw,  # type: ignore[arg-type]
        )
        made += 1
        actor = cashier if channel is Channel.COUNTER else SYSTEM
        return take_payment(session, gateway, request, actor).payment

    pool = iter(payable[::3])
    # Counter cash and cheques go into the demo cashier's drawers (see `_drawers`).
    cashier_user, cashier = _staff(session, "cashier")
    drawer_days: list[list[Payment]] = []
    for cash, cheques in ((3, 1), (3, 2)):
        opened = drawers.open_drawer(
            session,
            cashier_user,
            cashier,
            float_amount=15_000,
            currency="CAD",
            key=f"demo-drawer-{uuid.uuid4()}",
        )
        session.commit()
        taken = []
        for _ in range(cash):
            inv = next(pool)
            taken.append(pay(inv, Tender.CASH, Channel.COUNTER, cash_tendered=inv.owing + 1_000))
        for _ in range(cheques):
            number = f"{rng.randint(100, 999):06d}"
            taken.append(pay(next(pool), Tender.CHEQUE, Channel.COUNTER, cheque_number=number))
        drawer_days.append(taken)
        # Yesterday's drawer counted exactly; today's $2.00 short (within the tolerance).
        _count(session, cashier_user, cashier, opened, short=0 if len(drawer_days) == 1 else 200)
    _yesterday(session, drawer_days[0])
    if sandbox is not None:
        for behaviour, channel in [
            (Behaviour.APPROVE, Channel.PORTAL),
            (Behaviour.APPROVE, Channel.KIOSK),
            (Behaviour.APPROVE, Channel.PORTAL),
            (Behaviour.APPROVE, Channel.PORTAL),
            (Behaviour.DECLINE, Channel.PORTAL),
            (Behaviour.INSUFFICIENT, Channel.KIOSK),
            # Left unknown: the worker's recovery job resolves it while the demo runs.
            (Behaviour.TIMEOUT_APPROVE, Channel.PORTAL),
        ]:
            pay(next(pool), Tender.CARD, channel, card_token=_card_token(sandbox, behaviour))
        # A token can be used once: a second payment with it fails at the processor.
        used = _card_token(sandbox, Behaviour.APPROVE)
        pay(next(pool), Tender.CARD, Channel.PORTAL, card_token=used)
        pay(next(pool), Tender.CARD, Channel.PORTAL, card_token=used)
        voided = pay(
            next(pool),
            Tender.CARD,
            Channel.PORTAL,
            card_token=_card_token(sandbox, Behaviour.APPROVE),
        )
        _corrected(session, gateway, "void", voided, "duplicate", "Charged twice at the kiosk.")
        later = [
            pay(
                next(pool),
                Tender.CARD,
                Channel.PORTAL,
                card_token=_card_token(sandbox, Behaviour.APPROVE),
            )
            for _ in range(3)
        ]
        # Close a batch so card payments show as settled (and the bank expects its net).
        settlement.settle(
            session, gateway, SYSTEM, until=utcnow(), card_terms=deposits.CardTerms.of(settings)
        )
        session.commit()
        _corrected(session, gateway, "refund", later[0], "error", "Paid the wrong bill.")
        _corrected(
            session,
            gateway,
            "refund",
            later[1],
            "service_not_provided",
            "Half the service was not provided.",
            later[1].amount // 2,
        )
        # The cardholder's bank takes one back: the next batch's report records the reversal.
        assert later[2].gateway_reference is not None
        sandbox.chargeback(reference=later[2].gateway_reference)
        settlement.settle(
            session, gateway, SYSTEM, until=utcnow(), card_terms=deposits.CardTerms.of(settings)
        )
        session.commit()
        # Taken after the batch, so they stay posted until the next one.
        for _ in range(2):
            pay(
                next(pool),
                Tender.CARD,
                Channel.PORTAL,
                card_token=_card_token(sandbox, Behaviour.APPROVE),
            )
        water = [
            i for i in payable if i.account.department.code == "utilities" and i.amount_paid == 0
        ]
        _queues(session, gateway, sandbox, water)
        made += 3
    return made


def _count(
    session: Session, user: StaffUser, actor: Actor, drawer: DrawerSession, short: int
) -> None:
    """Count a drawer as a cashier would: in $5 notes and nickels, `short` missing."""
    due = drawers.expected(session, drawer).cash - short
    drawers.count(
        session,
        drawer.id,
        user,
        actor,
        counts={"note-500": due // 500, "coin-5": (due % 500) // 5},
        cheques=drawers.expected(session, drawer).cheques,
        tolerance=500,
        comment="Short a few coins.",
        key=f"demo-count-{drawer.id}",
    )
    session.commit()


def _yesterday(session: Session, payments: list[Payment]) -> None:
    """Move the first drawer and its payments a day back: a couple of days of history."""
    day = dt.timedelta(days=1)
    for payment in payments:
        payment.created_at -= day
        if payment.posted_at:
            payment.posted_at -= day
    drawer = session.get(DrawerSession, payments[0].drawer_session_id)
    assert drawer is not None and drawer.closed_at is not None
    drawer.opened_at -= day
    drawer.closed_at -= day
    if drawer.counted_at:
        drawer.counted_at -= day
    session.commit()


def _deposit_and_journal(session: Session, settings: Settings) -> None:
    """Finance bags the closed drawers and the journal is written (finance exports it)."""
    finance, actor = _staff(session, "finance")
    waiting = [d.id for d in deposits.undeposited(session)]
    if waiting:
        deposits.prepare(
            session,
            finance,
            actor,
            drawer_ids=waiting,
            bag_number="RIV-0001",
            currency=settings.currency,
            timezone=settings.timezone,
            key="demo-deposit-1",
        )
    journal.post_pending(session, journal.Accounts.of(settings), SYSTEM)
    session.commit()


def _bank_statement(session: Session, settings: Settings) -> None:
    """Yesterday's bank statement (camt.053), imported by finance and reconciled: the bag
    and the card batches are in it, and one credit the bank booked days ago that no
    deposit explains is a break in the exceptions queue, to match by hand."""
    finance, actor = _staff(session, "finance")
    today = in_zone(utcnow(), settings.timezone).date()
    unexplained = today - dt.timedelta(days=settings.reconcile_window_days + 2)
    entries = [
        (d.business_date, d.total, d.bag_number or "")
        for d in session.scalars(select(Deposit).order_by(Deposit.id))
    ]
    entries.append((unexplained, 4_250, "UNIDENTIFIED"))
    ntry = "".join(
        f'<Ntry><Amt Ccy="{settings.currency}">{abs(amount) / 100:.2f}</Amt>'
        f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd>"
        f"<BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><AcctSvcrRef>DEMO-{n}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>{ref or 'NOTPROVIDED'}</EndToEndId></Refs>"
        f"</TxDtls></NtryDtls><AddtlNtryInf>DEPOSIT {ref}</AddtlNtryInf></Ntry>"
        for n, (day, amount, ref) in enumerate(entries, 1)
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        f"<Stmt><Id>DEMO-{today.isoformat()}</Id><Acct><Id><Othr><Id>RIVERTON-OPERATING</Id>"
        f"</Othr></Id><Ccy>{settings.currency}</Ccy></Acct>{ntry}</Stmt></BkToCstmrStmt></Document>"
    )
    reconciliation.import_file(session, document.encode(), "demo-statement.xml", finance, actor)
    reconciliation.reconcile(session, settings.reconcile_window_days, today, actor)
    session.commit()


def _staff(session: Session, username: str) -> tuple[StaffUser, Actor]:
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).one()
    return user, Actor(ActorType.STAFF, username, staff_user_id=user.id)


def _corrected(
    session: Session,
    gateway: PaymentGateway,
    action: str,
    payment: Payment,
    reason: str,
    comment: str,
    amount: int | None = None,
    *,
    approve: bool = True,
) -> None:
    """A correction as staff make one: the agent (finance for a reversal) asks, the
    supervisor approves, and it is carried out (left waiting with `approve=False`)."""
    asker = _staff(session, "finance" if action == "reversal" else "agent")
    common: dict[str, Any] = {
        "reason_code": reason,
        "comment": comment,
        "requester": asker[0],
        "actor": asker[1],
        "key": f"demo-{uuid.uuid4()}",
        "expires_after": dt.timedelta(days=30),
    }
    if action == "refund":
        request = corrections.ask_refund(session, payment, amount or payment.amount, **common)
    elif action == "void":
        request = corrections.ask_void(session, gateway, payment, **common)
    else:
        request = corrections.ask_reversal(session, payment, **common)
    session.commit()
    if not approve:
        return
    supervisor, actor = _staff(session, "supervisor")
    locked = requests.locked(session, request.id)
    assert locked is not None
    requests.decide(
        session,
        locked,
        supervisor,
        actor,
        approve=True,
        comment="",
        may_decide=True,
        second_factor=True,
    )
    session.commit()
    corrections.carry_out(session, gateway, locked, actor)


def _queues(
    session: Session, gateway: PaymentGateway, sandbox: SandboxGateway, water: list[Invoice]
) -> None:
    """Something in each queue on first start: a resident who paid the same water bill
    twice (a possible duplicate, with the agent's refund request waiting for a supervisor),
    and a card payment the processor has not confirmed for twenty minutes."""
    bill = water[0]
    half = bill.owing // 2
    pair = [
        take_payment(
            session,
            gateway,
            PaymentRequest(
                items=(Item(bill.invoice_number, half),),
                tender=Tender.CARD,
                channel=Channel.PORTAL,
                idempotency_key=f"demo-{uuid.uuid4()}",
                currency="CAD",
                card_token=_card_token(sandbox, Behaviour.APPROVE),
            ),
            SYSTEM,
        ).payment
        for _ in range(2)
    ]
    _corrected(
        session,
        gateway,
        "refund",
        pair[1],
        "duplicate",
        "Resident paid twice from two browsers; refund the second.",
        approve=False,
    )
    doubtful = take_payment(
        session,
        gateway,
        PaymentRequest(
            items=(Item(water[1].invoice_number),),
            tender=Tender.CARD,
            channel=Channel.PORTAL,
            idempotency_key=f"demo-{uuid.uuid4()}",
            currency="CAD",
            card_token=_card_token(sandbox, Behaviour.TIMEOUT_APPROVE),
        ),
        SYSTEM,
    ).payment
    doubtful.created_at -= dt.timedelta(minutes=20)  # demo history: in doubt for a while
    session.commit()
    recovery.flag_long_in_doubt(session, dt.timedelta(minutes=15))
    session.commit()


def sample_bills(session: Session, count: int = 3) -> list[tuple[str, str, str, str]]:
    """(department, account number, access code, holder) of accounts with open bills,
    for the demo's start-up message: what a resident would read off their bill."""
    rows = session.execute(
        select(Department.name, Account.account_number, Account.access_code, Customer.name)
        .join(Account, Account.department_id == Department.id)
        .join(Customer, Account.customer_id == Customer.id)
        .join(Invoice, Invoice.account_id == Account.id)
        .where(Account.status == AccountStatus.ACTIVE, Invoice.amount_paid == 0)
        .distinct()
        .order_by(Customer.name, Department.name)
        .limit(count)
    ).all()
    return [(d, a, c, n) for d, a, c, n in rows]


def _pull_from_sandbox(session: Session, settings: Settings) -> None:
    """The systems the sandbox source system plays (the demo's utility billing) are pulled
    from at start: its books begin as the bills Paydesk holds for them."""
    for system in configuration.systems(session, settings):
        if not system.sandbox:
            continue
        url = configuration.sandbox_url(settings, system.system)
        configuration.set_source(session, settings, SYSTEM, system, "pull", url, "2000")
        SandboxBooks(settings.var_dir / "sandbox-source", system.system).copy_from(session)


def _crm_subscription(session: Session, settings: Settings) -> None:
    """A webhook subscription to every event, received by the sandbox source system (a
    stand-in for the city's CRM), so the delivery log has something in it from the start."""
    if not settings.sandbox_source_systems:
        return
    base = f"{settings.base_url.rstrip('/')}{SANDBOX_SOURCE_MOUNT}/webhooks"
    fields = ("Riverton CRM (sandbox)", "crm@riverton.example", f"{base}/0", [*EVENT_TYPES])
    subscription = webhooks.subscribe(session, SYSTEM, fields)
    subscription.url = f"{base}/{subscription.id}"


def seed_demo(
    session: Session, settings: Settings, gateway: PaymentGateway, sandbox: SandboxGateway | None
) -> DemoSummary:
    rng = random.Random(2026)
    ensure_default_roles(session)
    for role, password in DEMO_PASSWORDS.items():
        create_staff(
            session,
            SYSTEM,
            username=role,
            password=password,
            display_name=f"Demo {role}",
            roles=[role],
            email=f"{role}@riverton.example",
        )
    catalog = _catalog(session)
    invoices = _people(session, rng, catalog)
    audit.record(
        session,
        SYSTEM,
        audit.AuditAction.DEMO_SEEDED,
        "system",
        "demo",
        {"customers": 50, "invoices": len(invoices)},
    )
    _crm_subscription(session, settings)
    session.commit()
    payments = _payments(session, gateway, sandbox, invoices, rng, settings)
    session.commit()
    _deposit_and_journal(session, settings)
    _bank_statement(session, settings)
    seed_support(session, settings)
    session.commit()
    _pull_from_sandbox(session, settings)
    session.commit()
    return DemoSummary(
        customers=50,
        accounts=session.scalar(select(func.count()).select_from(Account)) or 0,
        invoices=len(invoices),
        payments=payments,
    )
