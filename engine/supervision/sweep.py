"""One sweep: claim the due timers and fire each once, earliest first.

On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP LOCKED``, so several sweepers share the work
without firing a timer twice; on SQLite the write transaction (``BEGIN IMMEDIATE``) lets one process
sweep at a time. A timer's effect and its ``fired`` mark commit together: a sweep killed half-way
leaves its timers due for the next sweep. A timer whose matter is busy in a step is left for the
next sweep; one that fails is retried a few times, then kept as ``failed`` for a person to see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from engine import clock
from engine.clock import as_utc
from engine.errors import NotFound
from engine.persistence.db import begin_write, make_sessionmaker
from engine.persistence.enums import MatterStatus
from engine.runtime import cache
from engine.supervision import deadlines, timers, vouchers
from engine.supervision.models import SupervisionTimer
from engine.supervision.violations import (
    ACKNOWLEDGED,
    ESCALATED,
    OPEN,
    SYSTEM,
    book_for_village,
    escalate,
    lock_for_change,
    note_event,
    raised_in,
)
from engine.texts import text

log = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 5
BUSY = None  # a handler's answer when the matter or violation is locked by someone else right now


@dataclass
class FiredTimer:
    id: int
    kind: str
    key: str
    due_at: datetime
    outcome: str  # fired | obsolete | retry | failed
    instance_id: int | None = None
    violation_id: int | None = None
    error: str | None = None
    raised: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "due_at": as_utc(self.due_at).isoformat(),
            "outcome": self.outcome,
            "instance": self.instance_id,
            "violation": self.violation_id,
            "error": self.error,
            "raised": self.raised,
        }


@dataclass
class SweepReport:
    fired: list[FiredTimer] = field(default_factory=list)
    busy: int = 0

    def as_dict(self) -> dict:
        return {"fired": [f.as_dict() for f in self.fired], "busy": self.busy}


def anything_due(session: Session, now: datetime) -> bool:
    """The idle check: one probe of the (fired, due_at) index, no write lock."""
    return (
        session.scalar(
            select(SupervisionTimer.id)
            .where(SupervisionTimer.fired == False, SupervisionTimer.due_at <= as_utc(now))  # noqa: E712
            .limit(1)
        )
        is not None
    )


def claim_due(session: Session, now: datetime, limit: int = BATCH) -> list[SupervisionTimer]:
    """Lock up to ``limit`` due timers, earliest first, that no other sweeper holds."""
    begin_write(session)
    return list(
        session.scalars(
            select(SupervisionTimer)
            .where(SupervisionTimer.fired == False, SupervisionTimer.due_at <= as_utc(now))  # noqa: E712
            .order_by(SupervisionTimer.due_at, SupervisionTimer.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def fire_claimed(session: Session, claimed: list[SupervisionTimer], now: datetime) -> tuple[list[FiredTimer], int]:
    """Fire claimed timers in the caller's transaction, each in a savepoint; returns them and the busy count."""
    results, busy = [], 0
    raised = raised_in(session)
    for timer in claimed:
        before = len(raised)
        try:
            with cache.follows_savepoint(session), session.begin_nested():
                outcome = _fire(session, timer, now)
        except Exception as exc:  # one broken timer must not hold back the others
            log.exception("timer %s (%s) failed", timer.id, timer.key)
            del raised[before:]
            results.append(_failed(timer, exc, now))
            continue
        if outcome is BUSY:
            busy += 1
            continue
        timer.fired, timer.fired_at, timer.outcome = True, clock.now(), outcome
        fired = FiredTimer(
            timer.id, timer.kind, timer.key, timer.due_at, outcome, timer.instance_id, timer.violation_id
        )
        fired.raised = [{"id": v.id, "code": v.code, "severity": v.severity, "title": v.title} for v in raised[before:]]
        results.append(fired)
    return results, busy


def _failed(timer: SupervisionTimer, exc: Exception, now: datetime) -> FiredTimer:
    timer.attempts += 1
    timer.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if timer.attempts >= MAX_ATTEMPTS:
        timer.fired, timer.fired_at, timer.outcome = True, clock.now(), "failed"
    else:
        timer.due_at = as_utc(now) + timedelta(minutes=timer.attempts**2)
    outcome = "failed" if timer.fired else "retry"
    return FiredTimer(
        timer.id, timer.kind, timer.key, timer.due_at, outcome, timer.instance_id, timer.violation_id, timer.last_error
    )


def _fire(session: Session, timer: SupervisionTimer, now: datetime) -> str | None:
    if timer.kind == timers.BPMN_TIMER:
        fired = timers.fire_instance_timers(session, timer.instance_id, now, skip_locked=True)
        if fired is None:
            return BUSY
        return "fired" if fired.events else "obsolete"
    if timer.kind in (timers.TASK_REMINDER, timers.TASK_DUE, timers.TASK_RED):
        instance = timers.lock_instance(session, timer.instance_id, skip_locked=True)
        if instance is None:
            return BUSY
        if instance.status != MatterStatus.RUNNING:
            return "obsolete"
        book = book_for_village(session, instance.village_id)
        handler = {
            timers.TASK_REMINDER: deadlines.fire_reminder,
            timers.TASK_DUE: deadlines.fire_due,
            timers.TASK_RED: deadlines.fire_red,
        }[timer.kind]
        return handler(session, book, timer, instance, now)
    if timer.kind in (timers.ESCALATION, timers.RECTIFY_DEADLINE):
        return _fire_violation_timer(session, timer, now)
    if timer.kind == vouchers.VOUCHER_UNPAID:
        instance = timers.lock_instance(session, timer.instance_id, skip_locked=True)
        if instance is None:
            return BUSY
        return vouchers.fire(session, book_for_village(session, instance.village_id), timer, instance, now)
    return "obsolete"


def _fire_violation_timer(session: Session, timer: SupervisionTimer, now: datetime) -> str | None:
    try:
        violation = lock_for_change(session, timer.violation_id, skip_locked=True, matter_id=timer.instance_id)
    except NotFound:
        return "obsolete"
    if violation is None:
        return BUSY
    book = book_for_village(session, violation.village_id)
    if timer.kind == timers.ESCALATION:
        if violation.status not in (OPEN, ESCALATED) or violation.level != timer.payload.get("level"):
            return "obsolete"
        title = book.level_title(violation.level)
        note = text("supervision.sweep.not_handled", level=title)
        return "fired" if escalate(session, book, violation, actor=SYSTEM, note=note, now=now) else "obsolete"
    if violation.status not in (OPEN, ACKNOWLEDGED, ESCALATED):
        return "obsolete"
    if escalate(session, book, violation, actor=SYSTEM, note=text("supervision.sweep.overdue_escalated"), now=now):
        return "fired"
    note_event(
        session,
        violation,
        "rectification_overdue",
        actor=SYSTEM,
        now=now,
        data={"note": text("supervision.sweep.overdue")},
    )
    return "fired"


PreSweep = Callable[[sessionmaker, datetime], None]
# What each sweep runs before the timers, in its own transactions, and which must never fail (the
# disclosures' on-time check): installed by ``engine.bootstrap()``.
_before: list[PreSweep] = []


def before_each_sweep(check: PreSweep) -> None:
    """Run ``check(sessions, now)`` at the start of every sweep; installing it twice changes nothing."""
    if check not in _before:
        _before.append(check)


def sweep(
    engine: Engine,
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    budget_s: float | None = None,
) -> SweepReport:
    """Fire everything due now, one batch per transaction, including timers the sweep itself made due;
    stop early after ``budget_s`` seconds."""
    clock.install()
    sessions = make_sessionmaker(engine)
    report = SweepReport()
    started = time.monotonic()
    for check in _before:
        check(sessions, now or clock.now())
    while True:
        current = now or clock.now()
        with sessions() as session:
            with session.begin():
                if not anything_due(session, current):
                    break
            with session.begin():
                claimed = claim_due(session, current, batch)
                fired, busy = fire_claimed(session, claimed, current)
        report.fired += fired
        report.busy += busy
        # Not "fewer than a batch, so done": a fired timer may have added one that is due already (a
        # yellow deadline long past schedules its red one in the past), and the next probe sees it.
        # A batch that fired nothing (all busy) ends the sweep; the next tick tries again.
        if not fired:
            break
        if budget_s is not None and time.monotonic() - started > budget_s:
            break
    return report
