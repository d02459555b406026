"""The step: one change of one matter, in one transaction.

Everything that changes a matter (a start, a completed or forced task, a fired timer, a return,
a withdrawal, a cancellation) is a :class:`Step`: lock the matter, restore its workflow, change
it, then :meth:`Step.finish` syncs the open-task index, appends the history events, runs the
after-step hooks and saves the state together. Any failure leaves the database as it was.

Who may take a step and what data it may carry are the commands' business
(:mod:`engine.commands`); this module only carries the change out.

Open tasks have ids of their own, made when a task opens; the engine's task ids stay inside the
saved workflow (``OpenTask.engine_task_id``). A step that opens again (a loop, a return, a
withdrawal) is a new open task with a new id, due time, reminders and timers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock, hooks
from engine.calendar import WorkCalendar, due_at, load_work_calendar
from engine.errors import Conflict, InvalidState, NotFound, PowerlistError
from engine.history import events as history
from engine.history.chain import GENESIS
from engine.history.events import EventKind
from engine.history.state import state_digest
from engine.org.units import unit_for_role
from engine.persistence.db import begin_write
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter, OpenTask, OrgUnit
from engine.runtime import cache
from engine.runtime.loaded import LoadedDefinition, loaded, loaded_version
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import dump_state, load_state
from engine.texts import error_text, text


def work_calendar() -> WorkCalendar:
    return load_work_calendar()


@dataclass
class OpenedTask:
    id: str
    step_id: str
    step_name: str
    role: str
    due_at: datetime | None
    engine_task_id: str = ""


@dataclass
class StepResult:
    instance_id: int
    status: str
    opened: list[OpenedTask] = field(default_factory=list)
    events: int = 0


class StepFailed(PowerlistError):
    """The flow itself could not advance (e.g. a gateway condition names a missing field)."""

    default_code = "step.failed"


def lock_instance(session: Session, instance_id: int) -> Matter:
    """The matter, locked for this transaction (``FOR NO KEY UPDATE`` on PostgreSQL).

    ``NO KEY``: a step never changes the matter's id, so the foreign-key checks of rows that point at
    the matter (``FOR KEY SHARE``) do not wait for it; see "Lock order" in docs/architecture.md.
    """
    begin_write(session)
    instance = session.scalar(select(Matter).where(Matter.id == instance_id).with_for_update(of=Matter, key_share=True))
    if instance is None:
        raise NotFound(
            text("runtime.refusals.no_such_matter", id=instance_id), code="matter.not_found", params={"id": instance_id}
        )
    return instance


def lock_open_task(session: Session, task_id: str) -> tuple[OpenTask, Matter, LoadedDefinition]:
    """The open task, its matter locked for this transaction, and the matter's definition."""
    begin_write(session)
    found = session.execute(
        select(OpenTask, Matter, DefinitionVersion.key, DefinitionVersion.content_hash)
        .join(Matter, Matter.id == OpenTask.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(OpenTask.id == task_id)
        .with_for_update(of=Matter, key_share=True)
    ).first()
    if found is None:
        raise InvalidState(code="task.not_open", params={"task": task_id})
    row, instance, key, content_hash = found
    # On PostgreSQL the task row may have gone while we waited for the matter's lock (another
    # completion of the same task); SQLite's write transaction already excludes that. The loser
    # of such a race gets the same error on both databases, however the race fell out.
    if session.get_bind().dialect.name != "sqlite":
        if session.scalar(select(OpenTask.id).where(OpenTask.id == task_id)) is None:
            raise InvalidState(code="task.not_open", params={"task": task_id})
    if instance.status != MatterStatus.RUNNING:
        raise InvalidState(code="matter.ended", params={"matter": instance.id})
    return row, instance, loaded_version(session, instance.definition_version_id, key, content_hash)


def load_workflow(instance: Matter, definition: LoadedDefinition) -> BpmnWorkflow:
    workflow = cache.take(instance.id, instance.history_head)
    if workflow is None:
        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
    return workflow


def ready_user_task_ids(workflow: BpmnWorkflow) -> set[UUID]:
    return {t.id for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _completed_ids(workflow: BpmnWorkflow) -> set[UUID]:
    return {t.id for t in workflow.tasks.values() if t.state == TaskState.COMPLETED}


class Step:
    """One change of one matter. Make it with :meth:`of_task`, :meth:`of_matter` or :meth:`start`,
    change the workflow through its methods, then :meth:`finish` it once."""

    def __init__(
        self,
        session: Session,
        instance: Matter,
        definition: LoadedDefinition,
        workflow: BpmnWorkflow,
        actor: str | None,
        now: datetime | None = None,
    ):
        self.session = session
        self.instance = instance
        self.definition = definition
        self.workflow = workflow
        self.actor = actor
        self.now = now or clock.now()
        self.before_done = _completed_ids(workflow)
        self.before_ready = ready_user_task_ids(workflow)
        self.events: list[HistoryEvent] = []
        self.pending: list[tuple[str, str | None, dict[str, Any] | None]] = []  # written by finish()
        self.opened: list[OpenedTask] = []
        self.closed: list[str] = []

    # --- making a step ---------------------------------------------------------------------

    @classmethod
    def of_task(cls, session: Session, instance: Matter, definition: LoadedDefinition, actor: str | None) -> Step:
        """A step of a matter whose open task was locked with :func:`lock_open_task`."""
        return cls(session, instance, definition, load_workflow(instance, definition), actor)

    @classmethod
    def of_matter(cls, session: Session, instance: Matter, actor: str | None) -> Step:
        definition = loaded(instance.definition)
        return cls(session, instance, definition, load_workflow(instance, definition), actor)

    @classmethod
    def start(
        cls,
        session: Session,
        row: DefinitionVersion,
        village: OrgUnit,
        actor: str,
        initial: dict[str, Any],
        title: str | None = None,
        on_created: Callable[[Matter], None] | None = None,
    ) -> Step:
        """A new matter of ``row`` in ``village``, its start data checked by the caller."""
        begin_write(session)
        definition = loaded(row)
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=script_engine())
        now = clock.now()
        instance = Matter(
            definition_version_id=row.id,
            village_id=village.id,
            title=(title or initial.get("title") or definition.name)[:200],
            status=MatterStatus.RUNNING,
            state=b"",
            started_by=actor,
            started_at=now,
            history_seq=0,
            history_head=GENESIS,
        )
        session.add(instance)
        session.flush()
        if on_created is not None:
            on_created(instance)
        step = cls(session, instance, definition, workflow, actor, now)
        workflow.get_next_task(state=TaskState.READY).data.update(initial)
        step.advance()
        step.sync()
        step.append(
            EventKind.INSTANCE_STARTED,
            data={
                "key": row.key,
                "version": row.version,
                "village": village.code,
                "data": initial,
                "opened": [t.step_id for t in step.opened],
            },
        )
        return step

    # --- changing the workflow -------------------------------------------------------------

    def engine_task(self, row: OpenTask) -> Any:
        task = self.workflow.get_task_from_id(UUID(row.engine_task_id))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise InvalidState(code="task.not_ready", params={"step": row.step_name})
        return task

    def complete(self, row: OpenTask, data: dict[str, Any], kind: str, payload: dict[str, Any]) -> None:
        """Run the open task with checked ``data``, advance the flow, and record ``kind``."""
        task = self.engine_task(row)
        try:
            task.set_data(**data)
            task.run()
        except SpiffWorkflowException as exc:
            reason = {"step": row.step_name, "reason": exc}
            raise StepFailed(error_text("step.failed_at", reason) or str(exc), params={"step": row.step_name}) from exc
        self.before_done.add(task.id)
        self.advance()
        self.sync()
        if self.opened:
            payload["opened"] = [t.step_id for t in self.opened]
        self.append(kind, row.step_id, payload)

    def advance(self) -> None:
        try:
            self.workflow.do_engine_steps()
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            where = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
            name = f" at '{getattr(where, 'bpmn_name', None) or getattr(where, 'name', '')}'" if where else ""
            raise StepFailed(
                f"flow '{self.definition.key}' could not advance{name}: {exc}", params={"flow": self.definition.key}
            ) from exc

    def reset_to(self, target: Any) -> None:
        """Open the completed user task ``target`` again; what followed it is undone."""
        self.workflow.reset_from_task_id(target.id)
        # A reset leaves removed timers registered in SpiffWorkflow; a saved and reloaded copy is clean.
        self.workflow = load_state(
            dump_state(self.workflow), self.definition.spec, self.definition.subprocess_specs, script_engine()
        )
        self.sync()

    def cancel(self) -> None:
        """End the matter without completing it (驳回, or withdrawing a matter nobody acted on)."""
        self.workflow.cancel()
        gone = self.session.execute(
            delete(OpenTask).where(OpenTask.instance_id == self.instance.id).returning(OpenTask.id)
        ).scalars()
        self.closed.extend(gone)
        self.instance.status = MatterStatus.CANCELLED
        self.instance.ended_at = self.now

    def changed(self) -> bool:
        """Whether the engine did anything since the step was made (a timer that was due, say)."""
        return bool(_completed_ids(self.workflow) - self.before_done) or (
            ready_user_task_ids(self.workflow) != self.before_ready
        )

    def sync(self) -> None:
        """Bring the open-task index in line with the workflow's ready user tasks."""
        ready = {t.id: t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)}
        gone = self.before_ready - ready.keys()
        if gone:
            closed = self.session.execute(
                delete(OpenTask)
                .where(OpenTask.instance_id == self.instance.id, OpenTask.engine_task_id.in_([str(i) for i in gone]))
                .returning(OpenTask.id)
            ).scalars()
            self.closed.extend(closed)
        rows = []
        for engine_id in ready.keys() - self.before_ready:
            task = ready[engine_id]
            info = self.definition.step(task.task_spec.name)
            unit = unit_for_role(self.session, self.instance.village_id, info.role)
            due = due_at(self.now, info.time_limit, info.calendar, work_calendar())
            opened = OpenedTask(str(uuid4()), info.id, info.name, info.role, due, str(engine_id))
            rows.append(
                {
                    "id": opened.id,
                    "engine_task_id": opened.engine_task_id,
                    "instance_id": self.instance.id,
                    "step_id": info.id,
                    "step_name": info.name,
                    "role": info.role,
                    "org_unit_id": unit.id,
                    "opened_at": self.now,
                    "due_at": due,
                    "assignee": None,
                }
            )
            self.opened.append(opened)
        if rows:
            self.session.connection().execute(_INSERT_OPEN_TASK, rows)
        self.before_ready = set(ready)

    # --- recording -------------------------------------------------------------------------

    def append(self, kind: str, step_id: str | None = None, data: dict[str, Any] | None = None) -> None:
        """Record an event of this step; :meth:`finish` appends it to the matter's history, with the
        digest of the state the step leaves."""
        self.pending.append((kind, step_id, data))

    def finish(self) -> StepResult:
        """Record what the engine did on its own, save the workflow, append the step's events, run
        the hooks and write."""
        self.pending.extend(_engine_events(self.workflow, self.before_done))
        if self.instance.status == MatterStatus.RUNNING and self.workflow.is_completed():
            self.instance.status = MatterStatus.COMPLETED
            self.instance.ended_at = self.now
            gone = self.session.execute(
                delete(OpenTask).where(OpenTask.instance_id == self.instance.id).returning(OpenTask.id)
            ).scalars()
            self.closed.extend(gone)
            self.pending.append((EventKind.INSTANCE_ENDED, None, {"end": _end_event(self.workflow)}))
        self.instance.state = dump_state(self.workflow)
        leaves = state_digest(self.session, self.instance)
        for kind, step_id, data in self.pending:
            actor = None if kind in ENGINE_KINDS else self.actor
            self.events.append(
                history.append(
                    self.session,
                    self.instance,
                    kind,
                    at=self.now,
                    actor=actor,
                    step_id=step_id,
                    data=data,
                    state_digest=leaves,
                )
            )
        self.pending = []
        hooks.run_after_step(
            hooks.StepContext(
                self.session,
                self.instance,
                self.definition,
                self.events,
                self.opened,
                self.closed,
                self.actor,
                self.now,
                self.workflow,
            )
        )
        flush(self.session, self.instance)
        cache.keep_after_commit(self.session, self.instance, self.workflow)
        return StepResult(self.instance.id, self.instance.status, self.opened, self.instance.history_seq)


def record(
    session: Session,
    instance: Matter,
    events: list[HistoryEvent],
    actor: str | None,
    closed: list[str] | None = None,
) -> None:
    """Run the after-step hooks for events that did not move the workflow (转办, 催办, 抄送…), and write."""
    now = events[-1].at if events else clock.now()
    hooks.run_after_step(
        hooks.StepContext(session, instance, loaded(instance.definition), events, [], closed or [], actor, now)
    )
    flush(session, instance)


def flush(session: Session, instance: Matter) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(code="matter.changed", params={"matter": instance.id}) from exc


_INSERT_OPEN_TASK = OpenTask.__table__.insert()


# What the engine does on its own is recorded without an actor.
ENGINE_KINDS = frozenset({EventKind.GATEWAY_TAKEN, EventKind.TIMER_FIRED, EventKind.INSTANCE_ENDED})


def _engine_events(
    workflow: BpmnWorkflow, before_done: set[UUID]
) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    """What the engine did on its own in this step: gateway decisions and fired timers."""
    found: list[tuple[str, str | None, dict[str, Any] | None]] = []
    for task in workflow.tasks.values():
        if task.state != TaskState.COMPLETED or task.id in before_done:
            continue
        spec = task.task_spec
        if isinstance(spec, ExclusiveGateway | InclusiveGateway) and len(spec.outputs) > 1:
            taken = [c.task_spec.name for c in task.children if _was_taken(c)]
            found.append((EventKind.GATEWAY_TAKEN, spec.name, {"to": sorted(taken)}))
        elif isinstance(spec, CatchingEvent) and _is_timer(spec):
            found.append((EventKind.TIMER_FIRED, spec.name, None))
    return found


def _was_taken(task: Any) -> bool:
    """A gateway's child is on the taken path unless it is only predicted or was cancelled."""
    return not task.state & (TaskState.PREDICTED_MASK | TaskState.CANCELLED)


def _is_timer(spec: Any) -> bool:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    return isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)


def _end_event(workflow: BpmnWorkflow) -> str | None:
    from SpiffWorkflow.bpmn.specs.defaults import EndEvent

    ends = [
        t.task_spec.name
        for t in workflow.tasks.values()
        if t.state == TaskState.COMPLETED and isinstance(t.task_spec, EndEvent) and t.workflow is workflow
    ]
    return ends[-1] if ends else None


MAX_START_DATA_FIELDS = 50


def start_matter(
    session: Session,
    row: DefinitionVersion,
    village: OrgUnit,
    actor: str,
    data: Any,
    title: str | None = None,
    on_created: Callable[[Matter], None] | None = None,
) -> StepResult:
    """Start a matter of ``row`` in ``village`` as one step.

    The start data may hold only the title and the fields of the flow's start form, whoever starts
    it. Who may start it is the caller's business: the start command checks a person, the rules
    start rectification matters as the system. ``on_created`` sees the new matter before the
    step's hooks run.
    """
    from engine.runtime.forms import validate_form

    definition = loaded(row)
    schema, schema_text = definition.start_form()
    if isinstance(data, dict) and len(data) > MAX_START_DATA_FIELDS:
        raise PowerlistError(
            f"start data has too many fields (at most {MAX_START_DATA_FIELDS})", code="start.too_many_fields"
        )
    initial = validate_form("start", schema, data, schema_text, allowed=frozenset({"title"}))
    if "title" in initial and not isinstance(initial["title"], str):
        raise PowerlistError(text("runtime.refusals.start_title"), code="start.title", field="title")
    return Step.start(session, row, village, actor, initial, title, on_created).finish()
