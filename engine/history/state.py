"""The digest of the state a matter is in: what its history events vouch for.

The history chain records what happened; the matter's row, its saved workflow and its open-task
index record where it stands, and they drive what happens next (an amount in the saved workflow
decides a later gateway, an open task's role and assignee decide who may act). Each history event
carries the digest of the state it leaves, so :func:`engine.history.verify.verify` can tell when
that state was edited without a step: the newest event's digest must match the state stored now.

Due times are not covered: the supervision rules set them after the step's events, and the due
timers they schedule carry them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.history.chain import canonical_json
from engine.persistence.models import Matter, OpenTask

PREFIX = b"powerlist-state-v1\n"

# The open-task columns a digest covers, in this order.
TASK_COLUMNS = (
    OpenTask.id,
    OpenTask.engine_task_id,
    OpenTask.step_id,
    OpenTask.role,
    OpenTask.org_unit_id,
    OpenTask.assignee,
    OpenTask.opened_at,
)


def task_entry(row: Any) -> list[Any]:
    """One open task as the digest sees it (a row of :data:`TASK_COLUMNS`)."""
    task_id, engine_task_id, step_id, role, unit, assignee, opened_at = row
    return [task_id, engine_task_id, step_id, role, unit, assignee, as_utc(opened_at).isoformat()]


def digest(
    *,
    status: str,
    definition_version_id: int,
    village_id: int,
    title: str | None,
    started_by: str,
    state: bytes | None,
    tasks: Iterable[list[Any]],
) -> bytes:
    header = canonical_json(
        {
            "status": status,
            "version": definition_version_id,
            "village": village_id,
            "title": title,
            "started_by": started_by,
            "state": hashlib.sha256(bytes(state or b"")).hexdigest(),
            "tasks": sorted(tasks),
        }
    )
    return hashlib.sha256(PREFIX + header.encode()).digest()


def open_tasks_of(session: Session, instance_id: int) -> list[list[Any]]:
    return [
        task_entry(row) for row in session.execute(select(*TASK_COLUMNS).where(OpenTask.instance_id == instance_id))
    ]


def state_digest(session: Session, instance: Matter) -> bytes:
    """The digest of the matter's state as this transaction has it now."""
    return digest(
        status=instance.status,
        definition_version_id=instance.definition_version_id,
        village_id=instance.village_id,
        title=instance.title,
        started_by=instance.started_by,
        state=instance.state,
        tasks=open_tasks_of(session, instance.id),
    )
