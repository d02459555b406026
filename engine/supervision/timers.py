"""Due timers kept in the database, and firing a matter's BPMN timer events as one step.

A step that leaves BPMN timers waiting (a boundary timer on a user task, an intermediate timer catch
event) gets one ``supervision_timer`` row per waiting timer; the sweep calls
:func:`fire_instance_timers` when it is due. Rows are never removed when a timer is cancelled: the
sweep finds nothing to fire and marks them obsolete.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import caches, clock
from engine.calendar import load_work_calendar
from engine.clock import as_utc
from engine.errors import NotFound
from engine.persistence.enums import MatterStatus
from engine.persistence.models import HistoryEvent, Matter
from engine.runtime.loaded import LoadedDefinition
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import load_state
from engine.runtime.steps import Step
from engine.supervision.models import SupervisionTimer

TASK_REMINDER = "task_reminder"  # blue: most of the time is used
TASK_DUE = "task_due"  # yellow: the deadline passed with the task open
TASK_RED = "task_red"  # red: overdue by the rule's red threshold
BPMN_TIMER = "bpmn_timer"  # a waiting BPMN timer event of a matter
ESCALATION = "escalation"  # an unhandled warning moves up the chain
RECTIFY_DEADLINE = "rectify_deadline"  # a violation not rectified in time moves up the chain

# SpiffWorkflow fires a timer only once its time is strictly past; the row waits for that instant.
BPMN_MARGIN = timedelta(microseconds=1)


def schedule(
    session: Session,
    *,
    key: str,
    kind: str,
    due_at: datetime,
    instance_id: int | None = None,
    task_id: str | None = None,
    violation_id: int | None = None,
    payload: dict[str, Any] | None = None,
    new_key: bool = False,
) -> bool:
    """Add a timer unless one with ``key`` exists; ``new_key`` skips the look-up for keys known to be new.

    Callers hold the lock of the matter (or violation) the key belongs to, so no one else adds it.
    """
    if not new_key:
        if any(isinstance(o, SupervisionTimer) and o.key == key for o in session.new):
            return False
        with session.no_autoflush:
            if session.scalar(select(SupervisionTimer.id).where(SupervisionTimer.key == key)) is not None:
                return False
    # A plain INSERT in the caller's transaction: timers are added on nearly every step.
    session.connection().execute(
        _INSERT_TIMER,
        {
            "key": key,
            "kind": kind,
            "due_at": as_utc(due_at),
            "fired": False,
            "fired_at": None,
            "outcome": None,
            "attempts": 0,
            "last_error": None,
            "instance_id": instance_id,
            "task_id": task_id,
            "violation_id": violation_id,
            "payload": payload or {},
        },
    )
    return True


_INSERT_TIMER = SupervisionTimer.__table__.insert()


@dataclass
class WaitingTimer:
    task_id: str
    event_id: str
    due_at: datetime
    attached_to: list[str] = field(default_factory=list)  # user tasks a boundary timer watches


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    found = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
            continue
        due = _due_time(task.internal_data.get("event_value"))
        if due is None:
            continue
        attached = []
        if task.parent is not None and isinstance(task.parent.task_spec, BoundaryEventSplit):
            attached = [str(c.id) for c in task.parent.children if c.task_spec.manual]
        found.append(WaitingTimer(str(task.id), task.task_spec.name, due, attached))
    return found


def _due_time(value: Any) -> datetime | None:
    if isinstance(value, dict):  # a cycle timer: its next occurrence
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        parsed = TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None
    # SpiffWorkflow may hand back the engine clock's datetime subclass; keep a plain one.
    plain = datetime(*parsed.timetuple()[:6], parsed.microsecond, tzinfo=parsed.tzinfo)
    return as_utc(plain)


# Keyed by the restored spec itself, held weakly: the answer goes with the spec it was read from.
_has_timers: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_has_timers_lock = threading.Lock()
caches.register(_has_timers.clear)


def definition_has_timers(definition: LoadedDefinition) -> bool:
    key = definition.spec
    found = _has_timers.get(key)
    if found is None:
        specs = [definition.spec, *definition.subprocess_specs.values()]
        found = any(
            isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
            for spec in specs
            for task_spec in spec.task_specs.values()
        )
        with _has_timers_lock:
            _has_timers[key] = found
    return found


def schedule_waiting_timers(
    session: Session, instance: Matter, definition: LoadedDefinition, workflow: Any = None
):
    """Rows for the BPMN timers the matter now waits on; returns them (boundary ones give deadlines)."""
    if instance.status != MatterStatus.RUNNING or not definition_has_timers(definition):
        return []
    if workflow is None:
        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
    found = waiting_timers(workflow)
    for timer in found:
        # The due time is part of the key: a cycle timer waits again on the same task, later.
        schedule(
            session,
            key=f"bpmn:{timer.task_id}:{int(timer.due_at.timestamp())}",
            kind=BPMN_TIMER,
            due_at=timer.due_at + BPMN_MARGIN,
            instance_id=instance.id,
            payload={"event": timer.event_id, "attached_to": timer.attached_to},
        )
    return found


@dataclass
class Fired:
    instance_id: int
    events: list[HistoryEvent]
    opened: list[Any]
    closed: list[str]


def lock_instance(session: Session, instance_id: int, skip_locked: bool) -> Matter | None:
    """Lock a matter's row like a step does (``FOR NO KEY UPDATE``); with ``skip_locked``, None when
    someone holds it now."""
    instance = session.scalar(
        select(Matter)
        .where(Matter.id == instance_id)
        .with_for_update(of=Matter, key_share=True, skip_locked=skip_locked)
    )
    if instance is None and session.get(Matter, instance_id) is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return instance


def fire_instance_timers(
    session: Session, instance_id: int, now: datetime | None = None, *, skip_locked: bool = False
) -> Fired | None:
    """Fire the due BPMN timers of one matter as one step (history, open tasks, hooks, saved state).

    Returns None when ``skip_locked`` and a step holds the matter; ``Fired`` with no events when
    nothing was due (a cancelled or not yet due timer). The caller owns the transaction.
    """
    instance = lock_instance(session, instance_id, skip_locked)
    if instance is None:
        return None
    now = now or clock.now()
    if instance.status != MatterStatus.RUNNING:
        return Fired(instance.id, [], [], [])
    step = Step.of_matter(session, instance, None)
    step.now = now
    step.advance()
    if not step.changed():
        return Fired(instance.id, [], [], [])  # nothing was due: a cancelled timer, or one not yet due
    step.sync()
    step.finish()
    events, opened, closed = step.events, step.opened, step.closed
    return Fired(instance.id, events, opened, closed)


def step_later(session: Session, task_id: str, since: datetime, delay: timedelta) -> datetime:
    """``since`` plus ``delay``, whole days counted in the task's own calendar (its deadline's)."""
    with session.no_autoflush:
        payload = session.scalar(select(SupervisionTimer.payload).where(SupervisionTimer.key == f"due:{task_id}"))
    if (payload or {}).get("calendar") == "working":
        return load_work_calendar().add_working(as_utc(since), delay)
    return since + delay
