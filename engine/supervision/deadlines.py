"""Deadlines of open steps: where each limit comes from, its timers, and what a late step raises.

A task's limit is its ``pl:timeLimit`` (already in ``open_task.due_at``), else the earliest timer
boundary event on it, else the rule set's default for the item and step. Each deadline gets a blue
reminder timer and a yellow one at the deadline; the yellow one schedules the red one.

Time is counted in the step's own calendar: for a working-day step the blue reminder falls when the
share of its *working* time is used (never on a weekend or holiday) and the red threshold's days are
working days. A working-day limit reaching a year with no holiday data is logged as a warning, kept in
the audit log (``calendar.missing_year``) and repeated in the step's warnings.

Responsibility follows the step: a warning names the step's role and the person holding it (whoever
completed or forced it, else the task's assignee, else the sole holder of its role in its unit), so a
town step's delay is the town's (see ``scoring.charge`` in the rule set).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.calendar import CST, WorkCalendar, due_at, load_work_calendar
from engine.clock import as_utc
from engine.history.events import EventKind
from engine.hooks import StepContext
from engine.org.roles import ROLES
from engine.persistence.models import AuditLog, Matter, OpenTask
from engine.supervision import timers
from engine.supervision.models import Severity, SupervisionTimer, Violation, ViolationOutcome
from engine.supervision.rules import RuleBook
from engine.supervision.timers import WaitingTimer
from engine.supervision.violations import (
    ACKNOWLEDGED,
    ACTIVE,
    CLOSED,
    ESCALATED,
    OPEN,
    RECTIFIED,
    SYSTEM,
    Finding,
    event_ref,
    raise_violation,
    sole_holder,
    transition,
    upgrade,
)
from engine.texts import text

log = logging.getLogger(__name__)


def work_calendar() -> WorkCalendar:
    return load_work_calendar()


def step_calendar(definition, step_id: str | None) -> str:
    """``working`` or ``calendar``: the calendar of a step's own ``pl:calendar``."""
    try:
        return definition.step(step_id).calendar if step_id else "calendar"
    except (LookupError, AttributeError):  # a step no longer in the definition
        return "calendar"


def _missing_calendar(context: StepContext, opened, due: datetime) -> str | None:
    """The loud warning for a working-day limit counted into a year without holiday data, or into a
    year whose adjusted working days (调休) are not confirmed yet."""
    missing = work_calendar().missing_years(context.now, due)
    if not missing:
        return _provisional_calendar(context, opened, due)
    years = text("supervision.separator").join(str(y) for y in missing)
    note = text("supervision.deadlines.calendar_missing", years=years, step=opened.step_name)
    log.warning(
        "no holiday calendar for %s: matter %s step %s due %s counted by weekends only",
        years,
        context.instance.id,
        opened.step_id,
        as_utc(due).isoformat(),
    )
    context.session.add(
        AuditLog(
            at=context.now,
            actor=SYSTEM,
            action="calendar.missing_year",
            subject=f"calendar {years}",
            detail={
                "years": missing,
                "instance": context.instance.id,
                "task": opened.id,
                "step": opened.step_id,
                "due_at": as_utc(due).isoformat(),
                "note": note,
            },
        )
    )
    return note


def _provisional_calendar(context: StepContext, opened, due: datetime) -> str | None:
    provisional = work_calendar().provisional_years(context.now, due)
    if not provisional:
        return None
    years = text("supervision.separator").join(str(y) for y in provisional)
    note = text("supervision.deadlines.calendar_provisional", years=years, step=opened.step_name)
    recorded = set(
        context.session.scalars(
            select(AuditLog.subject).where(
                AuditLog.action == "calendar.provisional_year",
                AuditLog.subject.in_([f"calendar {y}" for y in provisional]),
            )
        )
    )
    for year in provisional:  # once per year in the audit log; every step carries its own note
        if f"calendar {year}" not in recorded:
            context.session.add(
                AuditLog(
                    at=context.now,
                    actor=SYSTEM,
                    action="calendar.provisional_year",
                    subject=f"calendar {year}",
                    detail={"year": year, "instance": context.instance.id, "step": opened.step_id, "note": note},
                )
            )
    return note


def _local(at: datetime) -> str:
    return as_utc(at).astimezone(CST).strftime("%Y-%m-%d %H:%M")


def on_step(context: StepContext, book: RuleBook, waiting: list[WaitingTimer]) -> None:
    item = context.definition.key
    boundary: dict[str, datetime] = {}
    for timer in waiting:
        for task_id in timer.attached_to:
            boundary[task_id] = min(timer.due_at, boundary.get(task_id, timer.due_at))
    for opened in context.opened:
        open_deadline(context, book, item, opened, boundary.get(opened.engine_task_id))
    for task_id in context.closed:
        _closed(context, book, task_id)


def open_deadline(
    context: StepContext,
    book: RuleBook,
    item: str,
    opened,
    boundary_due: datetime | None,
    *,
    new_key: bool = True,
) -> list[str]:
    """Schedule the reminder and due timers of a task opened at ``context.now``; returns the keys added.

    A step passes ``new_key`` (its task is new); the backfill (:mod:`engine.supervision.backfill`)
    passes False so that timers a task already has are kept.
    """
    added: list[str] = []
    due, source = opened.due_at, "time_limit"
    if due is None and boundary_due is not None:
        due, source = boundary_due, "boundary_timer"
    calendar = step_calendar(context.definition, opened.step_id) if source == "time_limit" else "calendar"
    if due is None:
        rule = book.deadline(item, opened.step_id)
        due = due_at(context.now, rule.limit, rule.calendar, work_calendar()) if rule.limit else None
        source, calendar = "rule", rule.calendar
    if due is None:
        return added
    if source != "time_limit":
        context.session.execute(update(OpenTask).where(OpenTask.id == opened.id).values(due_at=due))
        opened.due_at = due
    payload = {
        "item": item,
        "step": opened.step_id,
        "step_name": opened.step_name,
        "role": opened.role,
        "opened_at": as_utc(context.now).isoformat(),
        "due_at": as_utc(due).isoformat(),
        "source": source,
        "calendar": calendar,
    }
    if calendar == "working":
        warning = _missing_calendar(context, opened, due)
        if warning:
            payload["calendar_warning"] = warning
    common = {"instance_id": context.instance.id, "task_id": opened.id, "payload": payload, "new_key": new_key}
    if book.reminder_percent:
        if calendar == "working":
            remind = work_calendar().working_point(context.now, due, book.reminder_percent / 100)
        else:
            remind = context.now + (due - context.now) * book.reminder_percent / 100
        key = f"remind:{opened.id}"
        if remind < due and timers.schedule(
            context.session, key=key, kind=timers.TASK_REMINDER, due_at=remind, **common
        ):
            added.append(key)
    key = f"due:{opened.id}"
    if timers.schedule(context.session, key=key, kind=timers.TASK_DUE, due_at=due, **common):
        added.append(key)
    return added


_TIMER = SupervisionTimer.__table__.c
_TASK_TIMERS = select(_TIMER.kind, _TIMER.due_at, _TIMER.outcome, _TIMER.payload).where(
    _TIMER.key.in_(bindparam("keys", expanding=True))
)


def _closed(context: StepContext, book: RuleBook, task_id: str) -> None:
    """A task left the open set: close its reminder; if it was done after its deadline, say so."""
    session = context.session
    with session.no_autoflush:
        rows = session.execute(_TASK_TIMERS, {"keys": [f"due:{task_id}", f"remind:{task_id}"]}).all()
    by_kind = {row.kind: row for row in rows}
    due_timer = by_kind.get(timers.TASK_DUE)
    if due_timer is None:
        return
    step_id = due_timer.payload.get("step")
    done = next(
        (
            e
            for e in context.events
            if e.kind in (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED) and e.step_id == step_id
        ),
        None,
    )
    remind_timer = by_kind.get(timers.TASK_REMINDER)
    if remind_timer is not None and remind_timer.outcome == "fired":
        reminder = _violation(session, f"step_due_soon:{task_id}")
        if reminder is not None and reminder.status in ACTIVE:
            transition(
                session,
                book,
                reminder,
                CLOSED,
                actor=SYSTEM,
                note=text("supervision.deadlines.step_done"),
                now=context.now,
                outcome=ViolationOutcome.HANDLED,
            )
    if done is None or as_utc(context.now) <= as_utc(due_timer.due_at):
        return
    overdue = _violation(session, f"step_overdue:{task_id}") if due_timer.outcome == "fired" else None
    if overdue is not None:
        if overdue.status in (OPEN, ACKNOWLEDGED, ESCALATED):
            transition(
                session,
                book,
                overdue,
                RECTIFIED,
                actor=done.actor or SYSTEM,
                note=text("supervision.deadlines.done_after_due", day=_local(context.now)),
                now=context.now,
                kind="step_completed",
            )
        return
    payload = due_timer.payload
    raise_violation(
        session,
        book,
        Finding(
            code="step_completed_late",
            village_id=context.instance.village_id,
            dedup_key=f"step_completed_late:{task_id}",
            message=text(
                "supervision.deadlines.completed_late",
                step=payload.get("step_name"),
                due=_local(due_timer.due_at),
                done=_local(context.now),
            )
            + _calendar_note(payload),
            instance_id=context.instance.id,
            step_id=step_id,
            task_id=task_id,
            evidence=[event_ref(done)],
            responsible_role=payload.get("role"),
            responsible_user=done.actor,
        ),
        context.now,
    )


def _calendar_note(payload: dict) -> str:
    warning = payload.get("calendar_warning")
    return text("supervision.deadlines.calendar_note", warning=warning) if warning else ""


def _violation(session: Session, dedup_key: str) -> Violation | None:
    return session.scalar(select(Violation).where(Violation.dedup_key == dedup_key))


# --- what the sweep does with task timers -----------------------------------------------------


def _open_task(session: Session, task_id: str | None) -> OpenTask | None:
    return session.get(OpenTask, task_id) if task_id else None


def _finding(instance: Matter, task: OpenTask, code: str, message: str) -> Finding:
    role = task.role
    responsible = task.assignee
    return Finding(
        code=code,
        village_id=instance.village_id,
        dedup_key=f"{code}:{task.id}",
        message=message,
        instance_id=instance.id,
        step_id=task.step_id,
        task_id=task.id,
        evidence=[{"task": task.id, "step": task.step_id, "opened_at": as_utc(task.opened_at).isoformat()}],
        responsible_role=role,
        responsible_user=responsible,
    )


def _role_name(role: str) -> str:
    return ROLES[role].name_zh if role in ROLES else role


def fire_reminder(session: Session, book: RuleBook, timer: SupervisionTimer, instance, now: datetime) -> str:
    task = _open_task(session, timer.task_id)
    if task is None or task.due_at is None or as_utc(task.due_at) <= now:
        return "obsolete"
    message = text(
        "supervision.deadlines.due_soon", step=task.step_name, role=_role_name(task.role), due=_local(task.due_at)
    )
    message += _calendar_note(timer.payload)
    finding = _finding(instance, task, "step_due_soon", message)
    finding.responsible_user = finding.responsible_user or sole_holder(session, task.role, task.org_unit_id)
    return "fired" if raise_violation(session, book, finding, now) else "obsolete"


def fire_due(session: Session, book: RuleBook, timer: SupervisionTimer, instance, now: datetime) -> str:
    task = _open_task(session, timer.task_id)
    if task is None:
        return "obsolete"
    if instance.definition.key == book.rectification["flow"]:
        from engine.supervision.rectification import ignored

        return "fired" if ignored(session, book, instance, task, now) else "obsolete"
    reminder = _violation(session, f"step_due_soon:{task.id}")
    if reminder is not None and reminder.status in ACTIVE:
        transition(
            session,
            book,
            reminder,
            CLOSED,
            actor=SYSTEM,
            note=text("supervision.deadlines.turned_yellow"),
            now=now,
            outcome=ViolationOutcome.HANDLED,
        )
    message = text(
        "supervision.deadlines.overdue", step=task.step_name, role=_role_name(task.role), due=_local(timer.due_at)
    )
    message += _calendar_note(timer.payload)
    finding = _finding(instance, task, "step_overdue", message)
    finding.responsible_user = finding.responsible_user or sole_holder(session, task.role, task.org_unit_id)
    violation = raise_violation(session, book, finding, now)
    red_after = book.deadline(instance.definition.key, task.step_id).red_after
    if violation is not None and red_after is not None:
        schedule_red(session, timer, violation, red_after, new_key=True)  # a task's deadline fires once
    return "fired" if violation is not None else "obsolete"


def schedule_red(
    session: Session, due_timer: SupervisionTimer, violation: Violation, red_after: timedelta, *, new_key: bool
) -> bool:
    """The red timer of a task whose due timer raised ``violation``; False when it was there already."""
    return timers.schedule(
        session,
        key=f"red:{due_timer.task_id}",
        kind=timers.TASK_RED,
        due_at=red_at(due_timer, red_after),
        instance_id=due_timer.instance_id,
        task_id=due_timer.task_id,
        violation_id=violation.id,
        payload=dict(due_timer.payload),
        new_key=new_key,
    )


def red_at(timer: SupervisionTimer, red_after: timedelta) -> datetime:
    """The deadline plus the red threshold, its days counted as working days for a working-day step."""
    due = as_utc(timer.due_at)
    if (timer.payload or {}).get("calendar") == "working":
        return work_calendar().add_working(due, red_after)
    return due + red_after


def fire_red(session: Session, book: RuleBook, timer: SupervisionTimer, instance, now: datetime) -> str:
    task = _open_task(session, timer.task_id)
    violation = session.get(Violation, timer.violation_id) if timer.violation_id else None
    if task is None or violation is None or violation.status == CLOSED:
        return "obsolete"
    red_after = book.deadline(instance.definition.key, task.step_id).red_after
    if red_after is not None and red_after.days:
        days = text("supervision.deadlines.days", days=red_after.days)
    else:
        days = str(red_after)
    upgrade(session, book, violation, Severity.RED, now, note=text("supervision.deadlines.turned_red", days=days))
    return "fired"
