"""The sandbox processor's own tables, kept apart from Paydesk's as a real processor's are.

They have their own `MetaData` (not `shared.db.Base`), so Paydesk's migrations
never see them; the store creates them on first use instead.

PCI: a card token row holds brand, last 4, expiry and the test behaviour only.
The full number and the security code are never written anywhere.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, MetaData, String, Text, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from shared.db import (
    NAMING_CONVENTION,
    IntPk,
    Minor,
    Timestamp,
    UTCDateTime,
    enum_type,
    make_engine,
    make_sessionmaker,
    transaction,
)
from shared.gateway.protocol import TransactionState
from shared.gateway.sandbox.cards import Behaviour


class SandboxBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TokenSource(StrEnum):
    HOSTED = "hosted"
    CARD_PRESENT = "card_present"


class CheckoutStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OperationKind(StrEnum):
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    # The cardholder's bank took the sale back; its key is "chargeback:" + the sale's key.
    CHARGEBACK = "chargeback"


class CardToken(SandboxBase):
    __tablename__ = "sandbox_card_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    behaviour: Mapped[Behaviour] = mapped_column(enum_type(Behaviour))
    source: Mapped[TokenSource] = mapped_column(enum_type(TokenSource))
    created_at: Mapped[Timestamp]


class HostedCheckout(SandboxBase):
    """One hosted card page: what to charge, where to send the payer back."""

    __tablename__ = "sandbox_hosted_checkouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Anti-forgery: the page's forms echo it back; a forged POST cannot know it.
    form_token: Mapped[str] = mapped_column(String(64))
    our_key: Mapped[str] = mapped_column(String(128), index=True)
    amount: Mapped[Minor]
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(8))
    return_url: Mapped[str] = mapped_column(Text)
    cancel_url: Mapped[str] = mapped_column(Text)
    status: Mapped[CheckoutStatus] = mapped_column(enum_type(CheckoutStatus))
    token_id: Mapped[str | None] = mapped_column(ForeignKey(CardToken.id))
    created_at: Mapped[Timestamp]
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    token: Mapped[CardToken | None] = relationship()


class SettlementBatchRow(SandboxBase):
    __tablename__ = "sandbox_settlement_batches"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[Timestamp]


class Payment(SandboxBase):
    """One authorization and what became of it. `our_key` is unique: a retried
    authorize finds the first one instead of charging twice."""

    __tablename__ = "sandbox_payments"
    __table_args__ = (Index("ix_sandbox_payments_unsettled", "settlement_batch", "captured_at"),)

    id: Mapped[IntPk]
    our_key: Mapped[str] = mapped_column(String(128), unique=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    # Unique: a token pays once. A second key presenting it hits this constraint.
    token_id: Mapped[str] = mapped_column(ForeignKey(CardToken.id), unique=True)
    amount: Mapped[Minor]
    currency: Mapped[str] = mapped_column(String(3))
    capture_requested: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[TransactionState] = mapped_column(enum_type(TransactionState))
    captured_amount: Mapped[int | None] = mapped_column(BigInteger)
    refunded_amount: Mapped[Minor] = mapped_column(default=0)
    decline_code: Mapped[str | None] = mapped_column(String(64))
    decline_message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[Timestamp]
    captured_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    settlement_batch: Mapped[str | None] = mapped_column(ForeignKey(SettlementBatchRow.id))

    token: Mapped[CardToken] = relationship()


class Operation(SandboxBase):
    """A capture, void, refund or chargeback, keyed by its own `our_key` so a retry never
    repeats it. Refunds and chargebacks settle in the next batch, as lines of their kind."""

    __tablename__ = "sandbox_operations"
    __table_args__ = (Index("ix_sandbox_operations_unsettled", "settlement_batch", "created_at"),)

    id: Mapped[IntPk]
    our_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[OperationKind] = mapped_column(enum_type(OperationKind))
    payment_id: Mapped[int] = mapped_column(ForeignKey(Payment.id), index=True)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[Timestamp]
    settlement_batch: Mapped[str | None] = mapped_column(ForeignKey(SettlementBatchRow.id))

    payment: Mapped[Payment] = relationship()


class Store:
    """The sandbox's database: an engine, and its tables made on first use."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._factory = make_sessionmaker(self.engine)
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        self._ensure_tables()
        with transaction(self._factory) as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

    def _ensure_tables(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                SandboxBase.metadata.create_all(self.engine)
            except DBAPIError:
                # Another process made the tables between our check and our CREATE
                # (PostgreSQL then reports a duplicate); a second pass finds them.
                SandboxBase.metadata.create_all(self.engine)
            self._ready = True
