"""Deposits: the bags of counter cash and cheques, and the card batches the processor pays.

A counter deposit takes closed drawers not yet deposited: the cash counted less each
drawer's float (the float stays for tomorrow) and the cheques counted. A card settlement
batch, when imported, becomes an expected deposit of its sales less refunds and
chargebacks less the processor's fees (PAYDESK_CARD_FEE_BASIS_POINTS on each sale). Both
are idempotent: a form's key, or the batch id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.actors import Actor
from shared.config import Settings
from shared.db import utcnow
from shared.gateway.protocol import SettlementBatch
from shared.i18n import N_, gettext_
from shared.local_time import in_zone
from shared.models import (
    Deposit,
    DepositKind,
    DrawerSession,
    DrawerStatus,
    Payment,
    SettlementBatchRecord,
    StaffUser,
)
from shared.money import Money

FONTS_DIR = Path(__file__).resolve().parent.parent / "receipts" / "fonts"
FONT = "DejaVu"


class DepositError(Exception):
    """The deposit cannot be prepared; `message` says why, in the reader's language."""

    def __init__(self, code: str, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.code = code
        self._message, self._values = message, values

    @property
    def message(self) -> str:
        translated = gettext_(self._message)
        return translated % self._values if self._values else translated


def undeposited(session: Session) -> list[DrawerSession]:
    """Closed drawers whose money is in no bag yet, oldest first."""
    return list(
        session.scalars(
            select(DrawerSession)
            .where(DrawerSession.status == DrawerStatus.CLOSED, DrawerSession.deposit_id.is_(None))
            .order_by(DrawerSession.closed_at, DrawerSession.id)
        )
    )


def drawer_deposit(drawer: DrawerSession) -> tuple[int, int]:
    """(cash, cheques) a closed drawer puts in the bag: the float stays behind."""
    return (drawer.counted_cash or 0) - drawer.float_amount, drawer.counted_cheques or 0


def prepare(
    session: Session,
    staff: StaffUser,
    actor: Actor,
    *,
    drawer_ids: list[int],
    bag_number: str,
    currency: str,
    timezone: str,
    key: str,
) -> Deposit:
    """Put closed drawers into a bag. Idempotent by the form's `key`."""
    found = session.scalars(select(Deposit).where(Deposit.idempotency_key == key)).one_or_none()
    if found is not None:
        return found
    bag_number = bag_number.strip()
    if not bag_number or len(bag_number) > 40:
        raise DepositError("bag", N_("Enter the bag number printed on the bag (up to 40)."))
    if session.scalars(select(Deposit.id).where(Deposit.bag_number == bag_number)).first():
        raise DepositError("bag_used", N_("Bag %(bag)s is on another deposit."), bag=bag_number)
    if not drawer_ids:
        raise DepositError("empty", N_("Choose at least one closed drawer."))
    drawers = list(
        session.scalars(
            select(DrawerSession)
            .where(DrawerSession.id.in_(drawer_ids))
            .order_by(DrawerSession.id)
            .with_for_update()
        )
    )
    if len(drawers) != len(set(drawer_ids)) or any(
        d.status is not DrawerStatus.CLOSED or d.deposit_id is not None for d in drawers
    ):
        raise DepositError(
            "not_closed", N_("A chosen drawer is not closed, or is in a deposit already.")
        )
    cash = sum(drawer_deposit(d)[0] for d in drawers)
    cheques = sum(drawer_deposit(d)[1] for d in drawers)
    if cash < 0:
        raise DepositError("negative", N_("The drawers hold less cash than their floats."))
    now = utcnow()
    deposit = Deposit(
        kind=DepositKind.COUNTER,
        bag_number=bag_number,
        currency=currency,
        business_date=in_zone(now, timezone).date(),
        cash=cash,
        cheques=cheques,
        total=cash + cheques,
        idempotency_key=key,
        prepared_by_id=staff.id,
        created_at=now,
    )
    session.add(deposit)
    session.flush()
    for drawer in drawers:
        drawer.deposit_id = deposit.id
    audit.record(
        session,
        actor,
        audit.AuditAction.DEPOSIT_PREPARED,
        "deposit",
        deposit.id,
        {"bag": bag_number, "cash": cash, "cheques": cheques, "drawers": sorted(drawer_ids)},
    )
    return deposit


def card_fee(amount: int, basis_points: int) -> int:
    """The processor's fee on one sale, rounded half up to the minor unit."""
    return (amount * basis_points + 5000) // 10000


@dataclass(frozen=True, slots=True)
class CardTerms:
    """What turns a card batch into an expected deposit (from the settings)."""

    basis_points: int
    currency: str
    timezone: str

    @classmethod
    def of(cls, settings: Settings) -> CardTerms:
        return cls(settings.card_fee_basis_points, settings.currency, settings.timezone)


def record_card_batch(
    session: Session, batch: SettlementBatch, actor: Actor, terms: CardTerms
) -> SettlementBatchRecord | None:
    """Keep an imported card batch and the deposit it becomes, net of fees (once per batch:
    importing the same batch again finds them). None for a batch that settled nothing."""
    basis_points, currency, timezone = terms.basis_points, terms.currency, terms.timezone
    found = session.scalars(
        select(SettlementBatchRecord).where(SettlementBatchRecord.batch_id == batch.batch_id)
    ).one_or_none()
    if found is not None:
        return found
    # Only the sales that settled a payment here count; the rest are in the exceptions queue.
    settled = {
        key
        for key in session.scalars(
            select(Payment.idempotency_key).where(Payment.settlement_batch == batch.batch_id)
        )
    }
    sales_lines = [ln for ln in batch.lines if ln.kind == "sale" and ln.our_key in settled]
    sales = sum(ln.amount for ln in sales_lines)
    # Refunds and chargebacks both come out of what the processor pays us.
    refunds = sum(ln.amount for ln in batch.lines if ln.kind in ("refund", "chargeback"))
    fees = sum(card_fee(ln.amount, basis_points) for ln in sales_lines)
    net = sales - refunds - fees
    if not sales_lines and not refunds:
        return None
    deposit = Deposit(
        kind=DepositKind.CARD,
        bag_number=None,
        currency=currency,
        business_date=in_zone(batch.closed_at, timezone).date(),
        card_gross=sales - refunds,
        card_fees=fees,
        total=net,
        idempotency_key=f"card-batch:{batch.batch_id}",
        created_at=utcnow(),
    )
    session.add(deposit)
    session.flush()
    record = SettlementBatchRecord(
        batch_id=batch.batch_id,
        closed_at=batch.closed_at,
        currency=currency,
        sales=sales,
        refunds=refunds,
        fees=fees,
        net=net,
        deposit_id=deposit.id,
        imported_at=utcnow(),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.CARD_DEPOSIT_EXPECTED,
        "deposit",
        deposit.id,
        {"batch": batch.batch_id, "sales": sales, "refunds": refunds, "fees": fees, "net": net},
    )
    return record


def payments_in(session: Session, deposit: Deposit) -> list[Payment]:
    """The payments whose money the deposit holds."""
    if deposit.kind is DepositKind.CARD:
        batch = session.scalars(
            select(SettlementBatchRecord.batch_id).where(
                SettlementBatchRecord.deposit_id == deposit.id
            )
        ).first()
        where = Payment.settlement_batch == batch
    else:
        where = Payment.drawer_session_id.in_(
            select(DrawerSession.id).where(DrawerSession.deposit_id == deposit.id)
        )
    return list(session.scalars(select(Payment).where(where).order_by(Payment.id)))


def deposit_of(session: Session, payment: Payment) -> Deposit | None:
    """The deposit holding a payment's money, once there is one."""
    if payment.drawer_session_id is not None:
        drawer = session.get(DrawerSession, payment.drawer_session_id)
        return session.get(Deposit, drawer.deposit_id) if drawer and drawer.deposit_id else None
    if payment.settlement_batch is not None:
        return session.scalars(
            select(Deposit)
            .join(SettlementBatchRecord, SettlementBatchRecord.deposit_id == Deposit.id)
            .where(SettlementBatchRecord.batch_id == payment.settlement_batch)
        ).first()
    return None


def slip_pdf(
    deposit: Deposit,
    drawers: list[DrawerSession],
    org_name: str,
    locale: str,
    words: dict[str, str],
    when: dt.datetime,
) -> bytes:
    """The deposit slip that goes in the bag: bag number, totals by tender, the drawers."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", FONTS_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONTS_DIR / "DejaVuSans-Bold.ttf")
    pdf.set_title(f"{words['title']} {deposit.bag_number or deposit.id}")
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 8, org_name, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        8,
        f"{words['title']} — {words['bag']} {deposit.bag_number}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(FONT, "", 10)
    pdf.cell(
        0, 6, f"{words['date']}: {deposit.business_date.isoformat()}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)

    def row(label: str, minor: int, bold: bool = False) -> None:
        pdf.set_font(FONT, "B" if bold else "", 11)
        pdf.cell(80, 7, label)
        pdf.cell(
            0,
            7,
            Money(minor, deposit.currency).format(locale),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    row(words["cash"], deposit.cash)
    row(words["cheques"], deposit.cheques)
    row(words["total"], deposit.total, bold=True)
    pdf.ln(4)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, words["drawers"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    for drawer in drawers:
        cash, cheques = drawer_deposit(drawer)
        pdf.cell(
            0,
            5,
            f"#{drawer.id}  {words['cash']} {Money(cash, deposit.currency).format(locale)}"
            f"  {words['cheques']} {Money(cheques, deposit.currency).format(locale)}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(8)
    pdf.cell(
        0,
        6,
        f"{words['prepared']}: {when.isoformat(timespec='minutes')}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(0, 10, f"{words['signature']}: ______________________", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
