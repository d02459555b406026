"""Backfill: give every open task the deadline timers the current rules require.

A step schedules a task's timers when the task opens (:func:`engine.supervision.deadlines.on_step`).
Tasks opened before a release that added a kind of timer, or whose rows were lost, never get them, so
they are never warned about however late they are. The backfill computes each open task's timers as
its step would have done when the task opened (its ``pl:timeLimit``, else a boundary timer on it, else
the rule set's deadline, counted from ``opened_at`` in the step's calendar), adds the missing ones
under the same keys (``remind:<task>``, ``due:<task>``, ``red:<task>``) and says what it added. Keys
make it idempotent: a second run adds nothing. Overdue timers are fired by the next sweep, which
raises their warnings.

It runs from ``powerlist doctor --fix`` and after every ``powerlist init`` (not from an Alembic
migration: it needs the definitions, the rule sets and the workflow state, i.e. the whole engine).
Each matter is handled in its own transaction holding the matter's lock, like a step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.hooks import StepContext
from engine.persistence.db import begin_write, make_sessionmaker
from engine.persistence.enums import MatterStatus
from engine.persistence.models import OpenTask
from engine.runtime.loaded import loaded
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import load_state
from engine.runtime.steps import OpenedTask
from engine.supervision import deadlines, timers
from engine.supervision.models import SupervisionTimer, Violation
from engine.supervision.violations import CLOSED, SYSTEM, book_for_village

log = logging.getLogger(__name__)


@dataclass
class TaskTimers:
    """One open task that lacked timers, and the keys added (or, without ``fix``, to be added)."""

    task_id: str
    instance_id: int
    step_id: str
    step_name: str
    opened_at: datetime
    due_at: datetime | None
    added: list[str]

    def as_dict(self) -> dict:
        return {
            "task": self.task_id,
            "instance": self.instance_id,
            "step": self.step_id,
            "step_name": self.step_name,
            "opened_at": as_utc(self.opened_at).isoformat(),
            "due_at": as_utc(self.due_at).isoformat() if self.due_at else None,
            "added": self.added,
        }


@dataclass
class BackfillReport:
    fixed: bool  # False: a dry run, nothing was written
    open_tasks: int = 0
    tasks: list[TaskTimers] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # matters that could not be checked, and why

    @property
    def timers(self) -> int:
        return sum(len(t.added) for t in self.tasks)

    def as_dict(self) -> dict:
        return {
            "fixed": self.fixed,
            "open_tasks": self.open_tasks,
            "tasks_missing_timers": len(self.tasks),
            "timers": self.timers,
            "tasks": [t.as_dict() for t in self.tasks],
            "errors": self.errors,
        }


_T = SupervisionTimer.__table__.c


def _timer_of(prefix: str):
    return exists().where(_T.key == literal(prefix) + OpenTask.id)


def candidate_matters(session: Session) -> list[int]:
    """Matters with an open task lacking its reminder or due timer, or a red timer after its due one fired.

    A task whose step has no deadline, or whose reminder would fall at its deadline, stays a candidate
    and is found to need nothing; that costs a look, never a write.
    """
    fired_due = exists().where(_T.key == literal("due:") + OpenTask.id, _T.outcome == "fired")
    query = (
        select(OpenTask.instance_id)
        .where(or_(~_timer_of("due:"), ~_timer_of("remind:"), fired_due & ~_timer_of("red:")))
        .distinct()
        .order_by(OpenTask.instance_id)
    )
    return list(session.scalars(query))


def backfill_matter(session: Session, instance_id: int) -> list[TaskTimers]:
    """Add the missing timers of one matter's open tasks; the caller owns the transaction."""
    instance = timers.lock_instance(session, instance_id, skip_locked=False)
    if instance is None or instance.status != MatterStatus.RUNNING:
        return []
    tasks = list(
        session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id).order_by(OpenTask.opened_at))
    )
    if not tasks:
        return []
    definition = loaded(instance.definition)
    book = book_for_village(session, instance.village_id)
    boundary: dict[str, datetime] = {}
    if timers.definition_has_timers(definition):
        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
        for waiting in timers.waiting_timers(workflow):
            for task_id in waiting.attached_to:
                boundary[task_id] = min(waiting.due_at, boundary.get(task_id, waiting.due_at))
    found = []
    for task in tasks:
        # The task's timers as its step scheduled them when it opened; existing keys are kept.
        opened = OpenedTask(
            task.id,
            task.step_id,
            task.step_name,
            task.role,
            as_utc(task.due_at),
            task.engine_task_id,
        )
        context = StepContext(session, instance, definition, [], [opened], [], SYSTEM, as_utc(task.opened_at))
        added = deadlines.open_deadline(
            context, book, definition.key, opened, boundary.get(task.engine_task_id), new_key=False
        )
        if _red(session, book, instance, task):
            added.append(f"red:{task.id}")
        if added:
            found.append(
                TaskTimers(task.id, instance.id, task.step_id, task.step_name, task.opened_at, opened.due_at, added)
            )
    return found


def _red(session: Session, book, instance, task: OpenTask) -> bool:
    """The red timer a fired due timer schedules (see ``deadlines.fire_due``), when it is missing."""
    if instance.definition.key == book.rectification["flow"]:
        return False  # an ignored rectification step is handled by the rectification rules, not by red
    red_after = book.deadline(instance.definition.key, task.step_id).red_after
    if red_after is None:
        return False
    due = session.scalar(select(SupervisionTimer).where(SupervisionTimer.key == f"due:{task.id}"))
    if due is None or due.outcome != "fired":
        return False
    violation = session.scalar(select(Violation).where(Violation.dedup_key == f"step_overdue:{task.id}"))
    if violation is None or violation.status == CLOSED:
        return False
    return deadlines.schedule_red(session, due, violation, red_after, new_key=False)


def backfill(engine: Engine, *, fix: bool) -> BackfillReport:
    """Check every open task; with ``fix`` add the missing timers, else only report them.

    One transaction per matter; a dry run computes the same timers and rolls them back. A matter
    where nothing is missing is rolled back too, so a second run writes nothing.
    """
    sessions = make_sessionmaker(engine)
    report = BackfillReport(fixed=fix)
    with sessions() as session:
        report.open_tasks = session.scalar(select(func.count()).select_from(OpenTask)) or 0
        matters = candidate_matters(session)
    for instance_id in matters:
        with sessions() as session:  # closing without a commit rolls back
            begin_write(session)
            try:
                found = backfill_matter(session, instance_id)
            except Exception as exc:  # one broken matter (e.g. its flow no longer loads) must not stop the rest
                log.warning("backfill of matter %s failed: %r", instance_id, exc)
                report.errors.append(
                    {"instance": instance_id, "error": str(exc).splitlines()[0] if str(exc) else repr(exc)}
                )
                continue
            report.tasks.extend(found)
            if fix and found:
                session.commit()
    return report
