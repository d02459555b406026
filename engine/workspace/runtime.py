"""The runtime internals the approval operations build on, gathered in one place.

The operations change a matter the way a step does (lock it, restore its workflow, sync the
open-task index, append history, run the hooks, save), so they use :mod:`engine.runtime.steps`
itself rather than a copy of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from engine.persistence.models import HistoryEvent, OpenTask, ProcessInstance
from engine.runtime import steps
from engine.runtime.loaded import LoadedDefinition


def lock_open_task(session: Session, task_id: str) -> tuple[OpenTask, ProcessInstance, LoadedDefinition]:
    """The open task, its instance locked for this transaction, and the instance's definition."""
    row, instance, definition = steps._lock_open_task(session, task_id)
    return row, instance, definition


def load_workflow(instance: ProcessInstance, definition: LoadedDefinition) -> Any:
    return steps._load_workflow(instance, definition)


def ready_user_task_ids(workflow: Any) -> set[UUID]:
    return steps._ready_user_task_ids(workflow)


def sync_open_tasks(
    session: Session,
    instance: ProcessInstance,
    definition: LoadedDefinition,
    workflow: Any,
    before_ready: set[UUID],
    now: datetime,
) -> tuple[list[Any], list[str]]:
    return steps._sync_open_tasks(session, instance, definition, workflow, before_ready, now)


def finish(
    session: Session,
    instance: ProcessInstance,
    definition: LoadedDefinition,
    workflow: Any,
    events: list[HistoryEvent],
    opened: list[Any],
    closed: list[str],
    actor: str,
    now: datetime,
) -> None:
    """Save the workflow, run the after-step hooks and write, as a completed step does."""
    steps._finish(session, instance, definition, workflow, steps.StepLog(events, opened, closed, actor, now))
