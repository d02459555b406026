"""One step of one instance = one transaction.

Starting a matter and completing a task both follow the same order: lock the instance, check who
acts and in what state, validate the form, run the engine, then save the state, the open-task
index and the history events together. Any failure leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

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
from engine.definitions.deploy import latest_version
from engine.errors import Conflict, InvalidState, PermissionDenied, PowerlistError
from engine.history import events as history
from engine.history.chain import GENESIS
from engine.org.service import can_see_village, get_user, get_village
from engine.org.units import holds_role, require_role, unit_for_role
from engine.persistence.db import begin_write
from engine.persistence.models import DefinitionVersion, HistoryEvent, OpenTask, OrgUnit, ProcessInstance
from engine.runtime import cache
from engine.runtime.forms import validate_form
from engine.runtime.loaded import LoadedDefinition, loaded, loaded_version
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import dump_state, load_state

MAX_START_DATA_FIELDS = 50


def work_calendar() -> WorkCalendar:
    return load_work_calendar()


@dataclass
class OpenedTask:
    id: str
    step_id: str
    step_name: str
    role: str
    due_at: datetime | None


@dataclass
class StepResult:
    instance_id: int
    status: str
    opened: list[OpenedTask] = field(default_factory=list)
    events: int = 0


class StepFailed(PowerlistError):
    """The flow itself could not advance (e.g. a gateway condition names a missing field)."""


def start_instance(
    session: Session,
    key: str,
    village_code: str,
    actor: str,
    data: dict[str, Any] | None = None,
    title: str | None = None,
) -> StepResult:
    begin_write(session)
    village = get_village(session, village_code)
    user = get_user(session, actor)
    if not can_see_village(user, village):
        raise PermissionDenied(f"user '{actor}' holds no role in {village.name} ({village.code}) or above it")
    row = latest_version(session, key)
    initial = validate_form("start", None, data or {})
    if len(initial) > MAX_START_DATA_FIELDS:
        raise PowerlistError(f"start data has too many fields (at most {MAX_START_DATA_FIELDS})")
    return start_matter(session, row, village, actor, initial, title)


def start_matter(
    session: Session,
    row: DefinitionVersion,
    village: OrgUnit,
    actor: str,
    initial: dict[str, Any],
    title: str | None = None,
    on_created: Callable[[ProcessInstance], None] | None = None,
) -> StepResult:
    """Start a matter of ``row`` in ``village`` with checked start data, as one step.

    Who may start it is the caller's business: :func:`start_instance` checks a person, the rules
    start rectification matters as the system. ``on_created`` sees the new instance before the
    step's hooks run.
    """
    begin_write(session)
    definition = loaded(row)
    now = clock.now()

    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=script_engine())
    start = workflow.get_next_task(state=TaskState.READY)
    start.data.update(initial)
    before_done: set[UUID] = set()
    _advance(workflow, definition)

    instance = ProcessInstance(
        definition_version_id=row.id,
        village_id=village.id,
        title=(title or initial.get("title") or definition.name)[:200],
        status="running",
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
    opened, _closed = _sync_open_tasks(session, instance, definition, workflow, set(), now)
    started = history.append(
        session,
        instance,
        history.INSTANCE_STARTED,
        at=now,
        actor=actor,
        data={
            "key": row.key,
            "version": row.version,
            "village": village.code,
            "data": initial,
            "opened": [t.step_id for t in opened],
        },
    )
    events = [started, *_record_engine_events(session, instance, workflow, before_done, now)]
    _finish(session, instance, definition, workflow, StepLog(events, opened, [], actor, now))
    return StepResult(instance.id, instance.status, opened, instance.history_seq)


def complete_task(session: Session, task_id: str, actor: str, data: Any, waive_reason: str | None = None) -> StepResult:
    """Complete an open task as its role holder.

    With ``waive_reason``, legal checks of the form (``x-checks``: quorum, majority…) that fail are
    recorded in history with the reason instead of refusing the step; the rules turn them into
    violations. Schema errors are never waived.
    """
    row, instance, definition = _lock_open_task(session, task_id)
    require_role(session, actor, row.role, row.org_unit_id)
    if row.assignee and row.assignee != actor:
        raise PermissionDenied(f"task {task_id} was handed to '{row.assignee}'; only they may complete it")
    step = definition.step(row.step_id)
    schema, schema_text = definition.form(step)
    if waive_reason is not None:
        _require_reason(waive_reason)
        clean, failed = validate_form(step.name, schema, data, schema_text, collect_checks=True)
    else:
        clean, failed = validate_form(step.name, schema, data, schema_text), []
    payload: dict[str, Any] = {"form": clean}
    if failed:
        payload["waived"] = [{"field": e.field, "message": e.message} for e in failed]
        payload["reason"] = waive_reason
    return _run_user_task(session, instance, definition, step, task_id, actor, clean, history.TASK_COMPLETED, payload)


def force_task(session: Session, task_id: str, actor: str, reason: str, data: Any = None) -> StepResult:
    """Move a matter past an open task without its form, by an administrator of the village's county
    or the town agency of its town. The reason is kept in history and the rules raise a violation."""
    row, instance, definition = _lock_open_task(session, task_id)
    _require_reason(reason)
    allowed = [(role, unit_for_role(session, instance.village_id, role)) for role in PRIVILEGED_ROLES]
    if not any(holds_role(session, actor, role, unit.id) for role, unit in allowed):
        names = ", ".join(f"{role}@{unit.code}" for role, unit in allowed)
        raise PermissionDenied(f"only {names} may force a step past; '{actor}' may not")
    step = definition.step(row.step_id)
    clean = validate_form(step.name, None, data or {})
    payload = {"form": clean, "reason": reason, "role": row.role}
    return _run_user_task(session, instance, definition, step, task_id, actor, clean, history.TASK_FORCED, payload)


PRIVILEGED_ROLES = ("admin", "town_agency")
MIN_REASON_LENGTH = 4


def _require_reason(reason: str | None) -> None:
    if reason is None or len(reason.strip()) < MIN_REASON_LENGTH:
        raise PowerlistError(f"a reason of at least {MIN_REASON_LENGTH} characters is required")


def _lock_open_task(session: Session, task_id: str) -> tuple[OpenTask, ProcessInstance, LoadedDefinition]:
    begin_write(session)
    found = session.execute(
        select(OpenTask, ProcessInstance, DefinitionVersion.key, DefinitionVersion.content_hash)
        .join(ProcessInstance, ProcessInstance.id == OpenTask.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == ProcessInstance.definition_version_id)
        .where(OpenTask.id == task_id)
        .with_for_update(of=ProcessInstance)
    ).first()
    if found is None:
        raise InvalidState(f"task {task_id} is not open: it was completed, withdrawn, or never existed")
    row, instance, key, content_hash = found
    # On PostgreSQL the task row may have gone while we waited for the instance lock (another
    # completion of the same task); SQLite's write transaction already excludes that.
    if session.get_bind().dialect.name != "sqlite":
        if session.scalar(select(OpenTask.id).where(OpenTask.id == task_id)) is None:
            raise Conflict(f"task {task_id} was completed by someone else just now; nothing was changed")
    if instance.status != "running":
        raise InvalidState(f"instance {instance.id} is {instance.status}")
    return row, instance, loaded_version(session, instance.definition_version_id, key, content_hash)


def _run_user_task(
    session: Session,
    instance: ProcessInstance,
    definition: LoadedDefinition,
    step: Any,
    task_id: str,
    actor: str,
    data: dict[str, Any],
    kind: str,
    payload: dict[str, Any],
) -> StepResult:
    workflow = _load_workflow(instance, definition)
    task = workflow.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise InvalidState(f"task {task_id} ({step.name}) is not ready to be completed")

    now = clock.now()
    before_done = {t.id for t in workflow.tasks.values() if t.state == TaskState.COMPLETED}
    before_ready = _ready_user_task_ids(workflow)
    try:
        task.set_data(**data)
        task.run()
    except SpiffWorkflowException as exc:
        raise StepFailed(f"step '{step.name}' could not be completed: {exc}") from exc
    _advance(workflow, definition)

    opened, closed = _sync_open_tasks(session, instance, definition, workflow, before_ready, now)
    if opened:
        payload["opened"] = [t.step_id for t in opened]
    done = history.append(session, instance, kind, at=now, actor=actor, step_id=step.id, data=payload)
    events = [done, *_record_engine_events(session, instance, workflow, before_done | {task.id}, now)]
    _finish(session, instance, definition, workflow, StepLog(events, opened, closed, actor, now))
    return StepResult(instance.id, instance.status, opened, instance.history_seq)


def _advance(workflow: BpmnWorkflow, definition: LoadedDefinition) -> None:
    try:
        workflow.do_engine_steps()
        workflow.refresh_timers()
        workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        where = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
        name = f" at '{getattr(where, 'bpmn_name', None) or getattr(where, 'name', '')}'" if where else ""
        raise StepFailed(f"flow '{definition.key}' could not advance{name}: {exc}") from exc


def _load_workflow(instance: ProcessInstance, definition: LoadedDefinition) -> BpmnWorkflow:
    workflow = cache.take(instance.id, instance.history_head)
    if workflow is None:
        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs, script_engine())
    return workflow


def _ready_user_task_ids(workflow: BpmnWorkflow) -> set[UUID]:
    return {t.id for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _sync_open_tasks(
    session: Session,
    instance: ProcessInstance,
    definition: LoadedDefinition,
    workflow: BpmnWorkflow,
    before_ready: set[UUID],
    now: datetime,
) -> tuple[list[OpenedTask], list[str]]:
    ready = {t.id: t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    gone = before_ready - ready.keys()
    if gone:
        session.execute(delete(OpenTask).where(OpenTask.id.in_([str(i) for i in gone])))
    opened = []
    rows = []
    for task_id in ready.keys() - before_ready:
        task = ready[task_id]
        step = definition.step(task.task_spec.name)
        unit = unit_for_role(session, instance.village_id, step.role)
        due = due_at(now, step.time_limit, step.calendar, work_calendar())
        rows.append(
            {
                "id": str(task_id),
                "instance_id": instance.id,
                "step_id": step.id,
                "step_name": step.name,
                "role": step.role,
                "org_unit_id": unit.id,
                "opened_at": now,
                "due_at": due,
                "assignee": None,
            }
        )
        opened.append(OpenedTask(str(task_id), step.id, step.name, step.role, due))
    if rows:
        session.connection().execute(_INSERT_OPEN_TASK, rows)
    return opened, [str(i) for i in gone]


_INSERT_OPEN_TASK = OpenTask.__table__.insert()


def _record_engine_events(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow, before_done: set[UUID], now: datetime
) -> list[HistoryEvent]:
    """Append what the engine did on its own in this step: gateway decisions and fired timers."""
    appended = []
    for task in workflow.tasks.values():
        if task.state != TaskState.COMPLETED or task.id in before_done:
            continue
        spec = task.task_spec
        if isinstance(spec, ExclusiveGateway | InclusiveGateway) and len(spec.outputs) > 1:
            taken = [c.task_spec.name for c in task.children if _was_taken(c)]
            appended.append(
                history.append(
                    session, instance, history.GATEWAY_TAKEN, at=now, step_id=spec.name, data={"to": sorted(taken)}
                )
            )
        elif isinstance(spec, CatchingEvent) and _is_timer(spec):
            appended.append(history.append(session, instance, history.TIMER_FIRED, at=now, step_id=spec.name))
    return appended


def _was_taken(task: Any) -> bool:
    """A gateway's child is on the taken path unless it is only predicted or was cancelled."""
    return not task.state & (TaskState.PREDICTED_MASK | TaskState.CANCELLED)


def _is_timer(spec: Any) -> bool:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    return isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)


@dataclass
class StepLog:
    events: list[HistoryEvent]
    opened: list[OpenedTask]
    closed: list[str]
    actor: str | None
    now: datetime


def _finish(
    session: Session, instance: ProcessInstance, definition: LoadedDefinition, workflow: BpmnWorkflow, log: StepLog
) -> None:
    if workflow.is_completed():
        instance.status = "completed"
        instance.ended_at = log.now
        session.execute(delete(OpenTask).where(OpenTask.instance_id == instance.id))
        log.events.append(
            history.append(session, instance, history.INSTANCE_ENDED, at=log.now, data={"end": _end_event(workflow)})
        )
    instance.state = dump_state(workflow)
    hooks.run_after_step(
        hooks.StepContext(
            session, instance, definition, log.events, log.opened, log.closed, log.actor, log.now, workflow
        )
    )
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"instance {instance.id} was changed by someone else just now; nothing was changed") from exc
    cache.keep_after_commit(session, instance, workflow)


def _end_event(workflow: BpmnWorkflow) -> str | None:
    from SpiffWorkflow.bpmn.specs.defaults import EndEvent

    ends = [
        t.task_spec.name
        for t in workflow.tasks.values()
        if t.state == TaskState.COMPLETED and isinstance(t.task_spec, EndEvent) and t.workflow is workflow
    ]
    return ends[-1] if ends else None
