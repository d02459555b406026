"""The open-task index derived again from the saved workflows, and compared with what is stored.

The open-task rows decide who may act (their step, role and place); they are an index of the
workflow's ready user tasks, written by every step. Re-deriving them from the saved state finds a
row that was added, removed or given another step or role without a step, even where the newest
history event was rewritten to vouch for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.history.verify import BadEvent, VerifyReport, verify
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, Matter, OpenTask
from engine.runtime.loaded import loaded_version
from engine.runtime.scripting import script_engine
from engine.runtime.serializer import load_state

BATCH = 200


@dataclass(frozen=True)
class OpenTaskProblem:
    instance_id: int
    reason: str

    def __str__(self) -> str:
        return f"instance {self.instance_id}: {self.reason}"


@dataclass
class OpenTaskReport:
    matters: int = 0
    tasks: int = 0
    bad: OpenTaskProblem | None = None

    @property
    def ok(self) -> bool:
        return self.bad is None


def verify_record(session: Session, instance_id: int | None = None) -> VerifyReport:
    """Every history chain, the state each matter's newest event vouches for, and the open-task
    index derived again from the saved workflows; the first problem found."""
    report = verify(session, instance_id)
    if report.ok:
        tasks = check_open_tasks(session, instance_id)
        if tasks.bad is not None:
            report.bad = BadEvent(tasks.bad.instance_id, None, None, tasks.bad.reason, "open_tasks")
    return report


def check_open_tasks(session: Session, instance_id: int | None = None) -> OpenTaskReport:
    """For every running matter (or one), its open-task rows must be exactly its workflow's ready
    user tasks, each with the step and role the flow gives it; stop at the first that is not."""
    report = OpenTaskReport()
    for matter, rows in _running(session, instance_id):
        report.matters += 1
        report.tasks += len(rows)
        problem = _compare(session, matter, rows)
        if problem is not None:
            report.bad = OpenTaskProblem(matter.id, problem)
            return report
    # Rows of matters that are not running are never right.
    stray = select(OpenTask.instance_id).join(Matter).where(Matter.status != MatterStatus.RUNNING)
    if instance_id is not None:
        stray = stray.where(OpenTask.instance_id == instance_id)
    found = session.scalar(stray.limit(1))
    if found is not None:
        report.bad = OpenTaskProblem(found, "the matter has ended but has open tasks")
    return report


def _running(session: Session, instance_id: int | None) -> Iterator[tuple[Any, list[Any]]]:
    """Running matters with their saved state and definition, and their open-task rows, a batch at a
    time (plain rows: nothing stays in the caller's session)."""
    running = Matter.status == MatterStatus.RUNNING
    ids = select(Matter.id).where(running).order_by(Matter.id)
    if instance_id is not None:
        ids = ids.where(Matter.id == instance_id)
    all_ids = list(session.scalars(ids))
    for start in range(0, len(all_ids), BATCH):
        chunk = all_ids[start : start + BATCH]
        matters = session.execute(
            select(
                Matter.id,
                Matter.state,
                DefinitionVersion.id.label("version_id"),
                DefinitionVersion.key,
                DefinitionVersion.content_hash,
            )
            .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
            .where(Matter.id.in_(chunk))
            .order_by(Matter.id)
        ).all()
        rows: dict[int, list[Any]] = {}
        tasks = select(OpenTask.instance_id, OpenTask.id, OpenTask.engine_task_id, OpenTask.step_id, OpenTask.role)
        for row in session.execute(tasks.where(OpenTask.instance_id.in_(chunk))):
            rows.setdefault(row.instance_id, []).append(row)
        for matter in matters:
            yield matter, rows.get(matter.id, [])


def _compare(session: Session, matter: Any, rows: list[Any]) -> str | None:
    definition = loaded_version(session, matter.version_id, matter.key, matter.content_hash)
    try:
        workflow = load_state(matter.state, definition.spec, definition.subprocess_specs, script_engine())
    except Exception as exc:  # a saved state that does not load is itself the finding
        return f"its saved workflow cannot be restored ({type(exc).__name__}): it was damaged"
    ready = {str(t.id): t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    stored = {row.engine_task_id: row for row in rows}
    for engine_id, step_id in sorted(ready.items()):
        if engine_id not in stored:
            return f"step '{step_id}' is open in its saved workflow but has no open task"
    for engine_id, row in sorted(stored.items()):
        if engine_id not in ready:
            return f"open task '{row.id}' (step '{row.step_id}') is not open in its saved workflow"
        if row.step_id != ready[engine_id]:
            return f"open task '{row.id}' says step '{row.step_id}' but its workflow has '{ready[engine_id]}' open"
        try:
            role = definition.step(row.step_id).role
        except LookupError:
            return f"open task '{row.id}' names step '{row.step_id}', which the flow does not have"
        if row.role != role:
            return f"open task '{row.id}' (step '{row.step_id}') has role '{row.role}' but the flow gives '{role}'"
    if len(stored) != len(rows):
        return "two open tasks point at the same step of its workflow"
    return None
