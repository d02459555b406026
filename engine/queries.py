"""Read-only views of definitions, open tasks, instances and their history, as frozen dataclasses
for the CLI, web and API.

JSON adapters turn them into mappings of the same names with :func:`dataclasses.asdict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from engine import clock
from engine.clock import as_utc, format_time
from engine.errors import NotFound
from engine.history.events import event_dict, events_of
from engine.org.roles import ROLES
from engine.org.service import ancestors, get_unit, get_user
from engine.persistence.enums import Level, MatterStatus
from engine.persistence.models import DefinitionVersion, Matter, OpenTask, OrgUnit


@dataclass(frozen=True, slots=True)
class DefinitionRow:
    """One deployed version of a flow, with how many of its matters are running."""

    key: str
    version: int
    name: str
    category: str | None
    number: str | None
    steps: int
    retired: bool
    running: int
    deployed_at: str | None
    deployed_by: str | None


@dataclass(frozen=True, slots=True)
class TaskRow:
    """An open user task, with its matter's title and village and whether it is past due."""

    id: int
    instance: int
    key: str
    title: str
    village: str
    step: str
    step_name: str
    role: str
    role_name: str
    opened_at: str | None
    due_at: str | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class MatterRecord:
    """A matter: its flow version, village and town, status and how many history events it has."""

    id: int
    key: str
    version: int
    name: str
    title: str
    village: str
    village_name: str
    town: str | None
    status: MatterStatus
    started_by: str
    started_at: str | None
    ended_at: str | None
    events: int


def definitions(session: Session) -> list[DefinitionRow]:
    running = dict(
        session.execute(
            select(Matter.definition_version_id, func.count())
            .where(Matter.status == MatterStatus.RUNNING)
            .group_by(Matter.definition_version_id)
        ).all()
    )
    rows = session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.key, DefinitionVersion.version))
    return [
        DefinitionRow(
            key=row.key,
            version=row.version,
            name=row.name,
            category=row.meta.get("category"),
            number=row.meta.get("number"),
            steps=len(row.meta.get("steps", [])),
            retired=row.retired,
            running=running.get(row.id, 0),
            deployed_at=format_time(row.deployed_at),
            deployed_by=row.deployed_by,
        )
        for row in rows
    ]


def open_tasks(session: Session, village_code: str | None = None, username: str | None = None) -> list[TaskRow]:
    """Open user tasks, overdue first then by due time; filtered by village and/or by who may act."""
    query = (
        select(OpenTask, Matter.title, Matter.village_id, DefinitionVersion.key)
        .join(Matter, Matter.id == OpenTask.instance_id)
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
    )
    if village_code:
        village = get_unit(session, village_code)
        if village.level == Level.VILLAGE:
            query = query.where(Matter.village_id == village.id)
        else:
            below = select(OrgUnit.id).where(OrgUnit.parent_id == village.id)
            query = query.where(
                (Matter.village_id.in_(below))
                | (Matter.village_id.in_(select(OrgUnit.id).where(OrgUnit.parent_id.in_(below))))
            )
    if username:
        user = get_user(session, username)
        pairs = [(a.role, a.org_unit_id) for a in user.roles]
        if not pairs:
            return []
        query = query.where(tuple_(OpenTask.role, OpenTask.org_unit_id).in_(pairs))
    query = query.order_by(OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.opened_at, OpenTask.id)
    now = clock.now()
    villages = {}
    result = []
    for task, title, village_id, key in session.execute(query):
        if village_id not in villages:
            villages[village_id] = session.get(OrgUnit, village_id)
        due = as_utc(task.due_at) if task.due_at else None
        result.append(
            TaskRow(
                id=task.id,
                instance=task.instance_id,
                key=key,
                title=title,
                village=villages[village_id].code,
                step=task.step_id,
                step_name=task.step_name,
                role=task.role,
                role_name=ROLES[task.role].name_zh if task.role in ROLES else task.role,
                opened_at=format_time(task.opened_at),
                due_at=format_time(due),
                overdue=bool(due and due < now),
            )
        )
    result.sort(key=lambda t: (not t.overdue,))
    return result


def instance(session: Session, instance_id: int) -> MatterRecord:
    row = session.get(Matter, instance_id)
    if row is None:
        raise NotFound(f"no instance {instance_id}")
    return MatterRecord(
        id=row.id,
        key=row.definition.key,
        version=row.definition.version,
        name=row.definition.name,
        title=row.title,
        village=row.village.code,
        village_name=row.village.name,
        town=ancestors(row.village)[1].code if row.village.parent else None,
        status=row.status,
        started_by=row.started_by,
        started_at=format_time(row.started_at),
        ended_at=format_time(row.ended_at),
        events=row.history_seq,
    )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event of a matter's history: its place in the chain, kind, time, actor, step, data and digests."""

    seq: int
    kind: str
    at: str
    actor: str | None
    step: str | None
    data: dict[str, Any]
    state: str | None
    hash: str


def history(session: Session, instance_id: int) -> list[HistoryEntry]:
    if session.get(Matter, instance_id) is None:
        raise NotFound(f"no instance {instance_id}")
    return [HistoryEntry(**event_dict(e)) for e in events_of(session, instance_id)]
