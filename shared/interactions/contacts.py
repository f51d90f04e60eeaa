"""Interactions: one contact with a customer, its notes, what it was about, its outcome
and the follow-up it needs.

Every change writes an audit event. Notes are append-only, and any card number typed
into one is masked before it is saved (the masking is audited, the number never is).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from shared import audit
from shared.actors import Actor
from shared.card_numbers import CARD_NUMBER_REFUSED, holds_card_number, scrub
from shared.customers import identifier_search, search
from shared.customers.visibility import EVERYTHING, Visible, payments_within, within
from shared.db import utcnow
from shared.i18n import gettext_ as _
from shared.models import (
    Account,
    Customer,
    Interaction,
    InteractionChannel,
    InteractionLink,
    InteractionNote,
    Invoice,
    LinkKind,
    Outcome,
    Payment,
    Receipt,
)

NOTE_MAX_LENGTH = 4000
REFERENCE_MAX_LENGTH = 64
RECENT = 10
# Notes shown per interaction in a list (the interaction page has them all).
NOTES_SHOWN = 3


class InteractionRefused(Exception):
    """The change cannot be made; `field` names the input at fault, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _staff_id(actor: Actor) -> int:
    if actor.staff_user_id is None:
        raise ValueError("interactions are made by staff")
    return actor.staff_user_id


def _still_open(interaction: Interaction) -> None:
    if not interaction.open:
        raise InteractionRefused("form", _("This interaction has ended; it cannot be changed."))


def get(session: Session, interaction_id: int) -> Interaction | None:
    return session.get(
        Interaction,
        interaction_id,
        options=[
            joinedload(Interaction.customer),
            joinedload(Interaction.staff_user),
            selectinload(Interaction.notes).joinedload(InteractionNote.staff_user),
            selectinload(Interaction.links),
        ],
    )


def start(
    session: Session, actor: Actor, customer: Customer | None, channel: InteractionChannel
) -> Interaction:
    """Open an interaction, owned by the staff member acting. Without a customer when the
    caller cannot be identified yet: `identify` sets it later."""
    interaction = Interaction(
        customer_id=customer.id if customer else None,
        staff_user_id=_staff_id(actor),
        channel=channel,
    )
    session.add(interaction)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_STARTED,
        "interaction",
        interaction.id,
        {"customer": customer.customer_number if customer else None, "channel": str(channel)},
    )
    return interaction


ABOUT_MAX_LENGTH = 64


def _about(
    session: Session, text: str, visible: Visible
) -> tuple[Customer | None, list[tuple[LinkKind, str]]]:
    """The customer `text` identifies, and the records it named (to attach). No customer
    for a payment nobody is on file for (a walk-in paying cash at the kiosk). A record
    outside the `visible` departments is as unknown as a wrong number."""
    if holds_card_number(text):
        raise InteractionRefused("about", _(CARD_NUMBER_REFUSED))
    short_enough = len(text) <= ABOUT_MAX_LENGTH
    jump = identifier_search.identify(session, text, visible) if short_enough else None
    if jump is None:
        raise InteractionRefused(
            "about",
            _(
                "Nothing has that number. Enter a customer, account, invoice or receipt "
                "number, or a transaction ID."
            ),
        )
    if jump.kind == "customer" and jump.customer_id is not None:
        customer = session.get(Customer, jump.customer_id)
        links: list[tuple[LinkKind, str]] = []
        if jump.anchor and jump.anchor.startswith("invoice-"):
            invoice = session.get(Invoice, int(jump.anchor.removeprefix("invoice-")))
            links = [(LinkKind.INVOICE, invoice.invoice_number)] if invoice else []
    else:
        row = session.execute(
            select(Payment.customer_id, Payment.transaction_id, Receipt.receipt_number)
            .outerjoin(Receipt, Receipt.payment_id == Payment.id)
            .where(Payment.transaction_id == jump.transaction_id)
        ).one()
        customer = session.get(Customer, row.customer_id) if row.customer_id else None
        links = [(LinkKind.PAYMENT, row.transaction_id)]
        if row.receipt_number:
            links.append((LinkKind.RECEIPT, row.receipt_number))
    return customer, links


def start_about(
    session: Session,
    actor: Actor,
    about: str,
    channel: InteractionChannel,
    visible: Visible = EVERYTHING,
) -> Interaction:
    """Open an interaction from whatever number the caller reads out, with the payment,
    receipt or invoice it names already attached."""
    customer, links = _about(session, about.strip(), visible)
    interaction = start(session, actor, customer, channel)
    for kind, reference in links:
        attach(session, actor, interaction, kind, reference, visible)
    return interaction


def identify(
    session: Session,
    actor: Actor,
    interaction: Interaction,
    about: str,
    visible: Visible = EVERYTHING,
) -> Customer:
    """Give an interaction started without a customer the one the caller turned out to be,
    from any number of theirs; what that number names is attached too."""
    _still_open(interaction)
    if interaction.customer_id is not None:
        raise InteractionRefused("customer", _("This interaction already has its customer."))
    customer, links = _about(session, about.strip(), visible)
    if customer is None:
        raise InteractionRefused(
            "customer",
            _("That payment has no customer on file either: find the customer by name first."),
        )
    interaction.customer = customer
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_CUSTOMER_SET,
        "interaction",
        interaction.id,
        {"customer": customer.customer_number},
    )
    for kind, reference in links:
        if not any(ln.kind is kind and ln.reference == reference for ln in interaction.links):
            attach(session, actor, interaction, kind, reference, visible)
    return customer


def add_note(
    session: Session, actor: Actor, interaction: Interaction, text: str
) -> InteractionNote:
    """Append a note. Card numbers in `text` are masked before it is saved."""
    _still_open(interaction)
    text = text.strip()
    if not text:
        raise InteractionRefused("note-text", _("Write the note."))
    if len(text) > NOTE_MAX_LENGTH:
        raise InteractionRefused(
            "note-text",
            _("The note is too long: keep it under %(max)s characters.") % {"max": NOTE_MAX_LENGTH},
        )
    masked = scrub(text)
    note = InteractionNote(
        interaction_id=interaction.id, staff_user_id=_staff_id(actor), text=masked
    )
    session.add(note)
    session.flush()
    if masked != text:
        # What was masked stays out of the trail too: only that it happened, and where.
        audit.record(
            session,
            actor,
            audit.AuditAction.INTERACTION_NOTE_MASKED,
            "interaction",
            interaction.id,
            {"interaction": interaction.id, "note": note.id},
        )
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_NOTE_ADDED,
        "interaction",
        interaction.id,
        {"note": note.id, "length": len(masked)},
    )
    return note


def _belongs(
    session: Session, customer_id: int | None, kind: LinkKind, reference: str, visible: Visible
) -> str | None:
    """The record's number as stored, if it exists, is `visible` and is this customer's
    (any such record, while the caller is not identified)."""
    # As typed, or in capitals as we print them: an exact match uses the unique index.
    spellings = {reference, reference.upper()}
    if kind is LinkKind.PAYMENT:
        query = select(Payment.transaction_id).where(
            Payment.transaction_id.in_(spellings), *payments_within(visible)
        )
        owner = Payment.customer_id
    elif kind is LinkKind.RECEIPT:
        query = (
            select(Receipt.receipt_number)
            .join(Payment, Payment.id == Receipt.payment_id)
            .where(Receipt.receipt_number.in_(spellings), *payments_within(visible))
        )
        owner = Payment.customer_id
    else:
        query = (
            select(Invoice.invoice_number)
            .join(Account, Account.id == Invoice.account_id)
            .where(
                Invoice.invoice_number.in_(spellings),
                *within(Account.department_id, visible.customers),
            )
        )
        owner = Account.customer_id
    if customer_id is not None:
        query = query.where(owner == customer_id)
    return session.scalars(query).first()


def visible_links(
    session: Session, interaction: Interaction, visible: Visible
) -> list[InteractionLink]:
    """The records attached to `interaction` that `visible` covers: someone limited to some
    departments does not learn another department's numbers from a shared interaction."""
    if visible.customers is None and visible.payments is None:
        return list(interaction.links)
    wanted = {
        kind: {ln.reference for ln in interaction.links if ln.kind is kind} for kind in LinkKind
    }
    seen = {
        LinkKind.PAYMENT: select(Payment.transaction_id).where(
            Payment.transaction_id.in_(wanted[LinkKind.PAYMENT]), *payments_within(visible)
        ),
        LinkKind.RECEIPT: select(Receipt.receipt_number)
        .join(Payment, Payment.id == Receipt.payment_id)
        .where(Receipt.receipt_number.in_(wanted[LinkKind.RECEIPT]), *payments_within(visible)),
        LinkKind.INVOICE: select(Invoice.invoice_number)
        .join(Account, Account.id == Invoice.account_id)
        .where(
            Invoice.invoice_number.in_(wanted[LinkKind.INVOICE]),
            *within(Account.department_id, visible.customers),
        ),
    }
    shown = {
        (kind, reference)
        for kind, query in seen.items()
        if wanted[kind]
        for reference in session.scalars(query)
    }
    return [ln for ln in interaction.links if (ln.kind, ln.reference) in shown]


def attach(
    session: Session,
    actor: Actor,
    interaction: Interaction,
    kind: LinkKind,
    reference: str,
    visible: Visible = EVERYTHING,
) -> InteractionLink:
    """Link a payment, receipt or invoice of this interaction's customer, by its number
    (any one while the caller is not identified). One outside the `visible` departments
    is refused as a wrong number is."""
    _still_open(interaction)
    wanted = reference.strip()
    if not wanted:
        raise InteractionRefused("link-reference", _("Enter the number to attach."))
    if holds_card_number(wanted):
        raise InteractionRefused("link-reference", _(CARD_NUMBER_REFUSED))
    found = None
    if len(wanted) <= REFERENCE_MAX_LENGTH:
        found = _belongs(session, interaction.customer_id, kind, wanted, visible)
    if found is None and interaction.customer_id is None:
        unknown = {
            LinkKind.PAYMENT: _("No payment has that transaction ID."),
            LinkKind.RECEIPT: _("No receipt has that number."),
            LinkKind.INVOICE: _("No invoice has that number."),
        }
        raise InteractionRefused("link-reference", unknown[kind])
    if found is None:
        messages = {
            LinkKind.PAYMENT: _("This customer has no payment with that transaction ID."),
            LinkKind.RECEIPT: _("This customer has no receipt with that number."),
            LinkKind.INVOICE: _("This customer has no invoice with that number."),
        }
        raise InteractionRefused("link-reference", messages[kind])
    if any(ln.kind is kind and ln.reference == found for ln in interaction.links):
        raise InteractionRefused("link-reference", _("That is already attached."))
    link = InteractionLink(
        interaction_id=interaction.id, kind=kind, reference=found, staff_user_id=_staff_id(actor)
    )
    session.add(link)
    interaction.links.append(link)
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_LINK_ADDED,
        "interaction",
        interaction.id,
        {"kind": str(kind), "reference": found},
    )
    return link


def set_outcome(session: Session, actor: Actor, interaction: Interaction, outcome: Outcome) -> None:
    _still_open(interaction)
    previous = interaction.outcome
    interaction.outcome = outcome
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_OUTCOME_SET,
        "interaction",
        interaction.id,
        {"outcome": str(outcome), "previous": None if previous is None else str(previous)},
    )


def schedule_follow_up(
    session: Session, actor: Actor, interaction: Interaction, due: dt.date, today: dt.date
) -> None:
    """Due on `due` (today or later); it is listed on the owner's home page until done."""
    _still_open(interaction)
    if due < today:
        raise InteractionRefused("follow-up-due", _("The follow-up date must be today or later."))
    interaction.follow_up_due = due
    interaction.follow_up_done = False
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_FOLLOW_UP_SCHEDULED,
        "interaction",
        interaction.id,
        {"due": due.isoformat()},
    )


def complete_follow_up(session: Session, actor: Actor, interaction: Interaction) -> None:
    if interaction.follow_up_due is None or interaction.follow_up_done:
        raise InteractionRefused("form", _("There is no follow-up to mark as done."))
    interaction.follow_up_done = True
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_FOLLOW_UP_DONE,
        "interaction",
        interaction.id,
        {"due": interaction.follow_up_due.isoformat()},
    )


def end(session: Session, actor: Actor, interaction: Interaction) -> None:
    """Close the interaction; it needs an outcome first. A follow-up stays listed."""
    _still_open(interaction)
    if interaction.outcome is None:
        raise InteractionRefused("outcome", _("Choose an outcome before ending the interaction."))
    interaction.ended_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        audit.AuditAction.INTERACTION_ENDED,
        "interaction",
        interaction.id,
        {"outcome": str(interaction.outcome)},
    )


@dataclass(frozen=True, slots=True)
class Listed:
    """An interaction in a list: its latest notes (oldest first) and how many are not shown."""

    interaction: Interaction
    notes: list[InteractionNote]
    more_notes: int


def page_for_customer(
    session: Session, customer_id: int, after: search.Cursor | None = None, limit: int = RECENT
) -> tuple[list[Listed], search.Cursor | None]:
    """A page of the customer's interactions, newest first, and the cursor of the next
    (None on the last). Each brings at most NOTES_SHOWN notes: nothing loads a whole history."""
    statement = (
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .options(joinedload(Interaction.staff_user))
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
    )
    if after is not None:
        statement = statement.where(after.older(Interaction.started_at, Interaction.id))
    found = list(session.scalars(statement.limit(limit + 1)))
    shown = found[:limit]
    notes = _latest_notes(session, [i.id for i in shown])
    listed = [Listed(i, *notes.get(i.id, ([], 0))) for i in shown]
    more = len(found) > limit and shown
    return listed, search.Cursor(shown[-1].started_at, shown[-1].id) if more else None


def _latest_notes(
    session: Session, interaction_ids: list[int]
) -> dict[int, tuple[list[InteractionNote], int]]:
    """Per interaction: its latest NOTES_SHOWN notes, oldest first, and how many more it has."""
    if not interaction_ids:
        return {}
    by_interaction = InteractionNote.interaction_id
    ranked = (
        select(
            InteractionNote.id,
            func.row_number()
            .over(partition_by=by_interaction, order_by=InteractionNote.id.desc())
            .label("rank"),
            func.count().over(partition_by=by_interaction).label("total"),
        )
        .where(by_interaction.in_(interaction_ids))
        .subquery()
    )
    rows = session.execute(
        select(InteractionNote, ranked.c.total)
        .join(ranked, InteractionNote.id == ranked.c.id)
        .where(ranked.c.rank <= NOTES_SHOWN)
        .order_by(InteractionNote.id)
    )
    found: dict[int, tuple[list[InteractionNote], int]] = {}
    for note, total in rows:
        shown = found.get(note.interaction_id, ([], 0))[0]
        shown.append(note)
        found[note.interaction_id] = (shown, int(total) - len(shown))
    return found


def about_payment(
    session: Session, transaction_id: str, receipt_number: str | None, limit: int = RECENT
) -> list[Interaction]:
    """Interactions that attached this payment or its receipt, newest first."""
    named = [(LinkKind.PAYMENT, transaction_id)]
    if receipt_number:
        named.append((LinkKind.RECEIPT, receipt_number))
    about = [
        and_(InteractionLink.kind == kind, InteractionLink.reference == reference)
        for kind, reference in named
    ]
    linked = select(InteractionLink.interaction_id).where(or_(*about))
    return list(
        session.scalars(
            select(Interaction)
            .where(Interaction.id.in_(linked))
            .options(joinedload(Interaction.staff_user))
            .order_by(Interaction.started_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
    )


def open_for(session: Session, staff_user_id: int, limit: int = 20) -> list[Interaction]:
    """The staff member's interactions not ended yet, newest first: one started for a
    caller not identified yet has no customer page to be found from."""
    return list(
        session.scalars(
            select(Interaction)
            .where(Interaction.staff_user_id == staff_user_id, Interaction.ended_at.is_(None))
            .options(joinedload(Interaction.customer))
            .order_by(Interaction.started_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
    )


def follow_ups_for(session: Session, staff_user_id: int, limit: int = 50) -> list[Interaction]:
    """The staff member's follow-ups not done yet, the most overdue first."""
    return list(
        session.scalars(
            select(Interaction)
            .where(
                Interaction.staff_user_id == staff_user_id,
                Interaction.follow_up_done.is_(False),
                Interaction.follow_up_due.is_not(None),
            )
            .options(joinedload(Interaction.customer))
            .order_by(Interaction.follow_up_due, Interaction.id)
            .limit(limit)
        )
    )


def record_receipt_sent(
    session: Session, actor: Actor, customer: Customer | None, receipt_number: str, note: str
) -> Interaction | None:
    """Put a resent receipt on the customer's record, without the agent doing it by hand:
    linked, with `note`, on the agent's open interaction with this customer, else the
    customer's latest one still open, else on a new email interaction of the agent's (an
    ended interaction is never changed). None when the payment has no customer."""
    if customer is None:
        return None
    still_open = (
        select(Interaction)
        .where(Interaction.customer_id == customer.id, Interaction.ended_at.is_(None))
        .options(selectinload(Interaction.links))
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
    )
    mine = still_open.where(Interaction.staff_user_id == _staff_id(actor))
    interaction = (
        session.scalars(mine.limit(1)).first() or session.scalars(still_open.limit(1)).first()
    )
    if interaction is None:
        interaction = start(session, actor, customer, InteractionChannel.EMAIL)
    if not any(
        ln.kind is LinkKind.RECEIPT and ln.reference == receipt_number for ln in interaction.links
    ):
        attach(session, actor, interaction, LinkKind.RECEIPT, receipt_number)
    add_note(session, actor, interaction, note)
    return interaction
