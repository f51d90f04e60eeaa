"""SLA clocks: due per priority, at risk then breached, paused while the request waits on
the customer, and the queue's filters agreeing with what each request's clock says."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.interactions import replies, sla, workflow
from shared.models import SupportPriority, SupportRequest, SupportStatus
from tests.shared.interactions.support_factories import NOW, TARGETS, request, staff

HOUR = dt.timedelta(hours=1)


def _filtered(db: Session, condition_of: str, at: dt.datetime) -> set[int]:
    condition = sla.breached(at) if condition_of == "breached" else sla.at_risk(at)
    return set(db.scalars(select(SupportRequest.id).where(condition)))


def test_targets_come_from_the_settings_per_priority() -> None:
    targets = sla.Targets.from_settings(
        Settings(
            secret_key="x",
            support_sla=(
                ("urgent", 15, 60),
                ("high", 30, 120),
                ("normal", 60, 600),
                ("low", 120, 6000),
            ),
            support_sla_at_risk_percent=50,
        )
    )
    assert targets.by_priority[SupportPriority.HIGH] == sla.Target(
        dt.timedelta(minutes=30), dt.timedelta(hours=2)
    )
    assert targets.risk_after(dt.timedelta(hours=2)) == HOUR


def test_a_normal_request_goes_at_risk_then_breaches_its_first_response(db: Session) -> None:
    made = request(db, priority=SupportPriority.NORMAL)  # first response in 4 hours
    assert made.first_response_due_at == NOW + 4 * HOUR
    assert made.resolution_due_at == NOW + dt.timedelta(days=2)
    at = {"on track": NOW + 2 * HOUR, "at risk": NOW + 3 * HOUR + dt.timedelta(minutes=30)}
    assert sla.clock(made, at["on track"]).standing is sla.Standing.ON_TRACK
    assert sla.clock(made, at["at risk"]).standing is sla.Standing.AT_RISK
    late = NOW + 5 * HOUR
    clock = sla.clock(made, late)
    assert (clock.standing, clock.running) == (sla.Standing.BREACHED, "first_response")
    assert made.id in _filtered(db, "at_risk", at["at risk"])
    assert made.id not in _filtered(db, "at_risk", late), "breached is not also at risk"
    assert made.id in _filtered(db, "breached", late)
    assert made.id not in _filtered(db, "breached", at["at risk"])


def test_after_the_first_response_the_resolution_clock_runs(db: Session) -> None:
    made = request(db)
    _, actor = staff(db)
    replies.reply_by_email(
        db,
        actor,
        made,
        "We are looking into it.",
        sender="Agent",
        wait_for_customer=False,
        now=NOW + HOUR,
    )
    later = NOW + 5 * HOUR  # past the first-response target, but it was met
    clock = sla.clock(made, later)
    assert (clock.standing, clock.running) == (sla.Standing.ON_TRACK, "resolution")
    assert made.id not in _filtered(db, "breached", later)


def test_waiting_on_the_customer_stops_the_clocks(db: Session) -> None:
    made = request(db)  # first response due NOW + 4h, resolution NOW + 2d
    _, actor = staff(db)
    replies.reply_by_email(
        db, actor, made, "Which card did you use?", sender="Agent", now=NOW + HOUR
    )
    assert made.status is SupportStatus.WAITING
    # Three days with the customer: far past every target, yet not breached.
    three_days = NOW + dt.timedelta(days=3)
    assert sla.clock(made, three_days).standing is sla.Standing.ON_TRACK
    assert sla.clock(made, three_days).paused
    assert made.id not in _filtered(db, "breached", three_days)
    # They answer: the resolution is due as much later as the pause lasted.
    workflow.move(db, actor, made, SupportStatus.OPEN, three_days)
    pause = three_days - (NOW + HOUR)
    assert made.resolution_due_at == NOW + dt.timedelta(days=2) + pause
    assert made.paused_seconds == int(pause.total_seconds())
    assert made.paused_since is None
    assert sla.clock(made, three_days + HOUR).standing is sla.Standing.ON_TRACK


def test_a_request_that_was_already_late_stays_late_while_waiting(db: Session) -> None:
    made = request(db, priority=SupportPriority.URGENT)  # first response in 30 minutes
    _, actor = staff(db)
    workflow.move(db, actor, made, SupportStatus.WAITING, NOW + 2 * HOUR)
    assert sla.clock(made, NOW + 3 * HOUR).standing is sla.Standing.BREACHED
    assert made.id in _filtered(db, "breached", NOW + 3 * HOUR)


@pytest.mark.parametrize(
    ("resolved_after", "standing"),
    [(dt.timedelta(hours=3), sla.Standing.MET), (dt.timedelta(days=3), sla.Standing.MISSED)],
)
def test_a_resolved_request_met_or_missed_its_targets(
    db: Session, resolved_after: dt.timedelta, standing: sla.Standing
) -> None:
    made = request(db)
    _, actor = staff(db)
    replies.record_phone_reply(db, actor, made, "Called: all fine.", now=NOW + HOUR)
    workflow.move(db, actor, made, SupportStatus.RESOLVED, NOW + resolved_after)
    assert sla.clock(made, NOW + dt.timedelta(days=30)).standing is standing


def test_a_new_priority_moves_the_due_times(db: Session) -> None:
    made = request(db, priority=SupportPriority.LOW)
    _, actor = staff(db)
    workflow.set_priority(db, actor, made, SupportPriority.URGENT, TARGETS, NOW + HOUR)
    assert made.first_response_due_at == NOW + dt.timedelta(minutes=30)
    assert sla.clock(made, NOW + HOUR).standing is sla.Standing.BREACHED
