"""Our own histories as an event log: one case per matter, one event per step done.

A step is done when its task was completed, or forced past by a privileged user. A step its doer
withdrew (撤回) counts as not done. A matter sent back to an earlier step (退回, a sanctioned return)
is kept beside the steps as a note: the check rewinds the matter to that step, so doing it again (and
the steps after it) is a second pass, not a repeat; a step done again without a return is still a
repeat. Transfers (转办) are kept as notes too, for exports. Each matter is checked against the flow
version it ran on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.conformance import Findings, check_log, combine
from engine.audit.eventlog import NO_TIME, RETURNED, TRANSFERRED, EventLog, Interner, Note
from engine.audit.reference_model import model_for
from engine.clock import as_utc
from engine.errors import NotFound
from engine.history.events import EventKind
from engine.org.service import village_ids
from engine.persistence.enums import MatterStatus
from engine.persistence.models import DefinitionVersion, HistoryEvent, Matter, OrgUnit

ACTIVITY_KINDS = (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED)
NOTE_KINDS = {EventKind.TASK_RETURNED: RETURNED, EventKind.TASK_TRANSFERRED: TRANSFERRED}


@dataclass
class Scope:
    """Which matters: of a flow, below an org unit, started within a period, in a status."""

    key: str | None = None
    unit: str | None = None  # county, town or village code
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    instance_ids: list[int] | None = None


def instances_query(session: Session, scope: Scope):
    """The matters in ``scope``, as a select over Matter joined to its definition."""
    query = select(Matter).join(
        DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id
    )
    if scope.key:
        query = query.where(DefinitionVersion.key == scope.key)
    if scope.unit:
        query = query.where(Matter.village_id.in_(village_ids(session, scope.unit)))
    if scope.since:
        query = query.where(Matter.started_at >= scope.since)
    if scope.until:
        query = query.where(Matter.started_at < scope.until)
    if scope.status:
        query = query.where(Matter.status == scope.status)
    if scope.instance_ids is not None:
        query = query.where(Matter.id.in_(scope.instance_ids))
    return query


def load_histories(session: Session, scope: Scope) -> EventLog:
    """The matters in ``scope`` and their completed tasks (activity = step id, resource = actor)."""
    if scope.key and session.scalar(select(DefinitionVersion.id).where(DefinitionVersion.key == scope.key)) is None:
        raise NotFound(f"no deployed flow with key '{scope.key}'")
    units = {u.id: u for u in session.scalars(select(OrgUnit))}
    ids = instances_query(session, scope).with_only_columns(Matter.id).order_by(None).subquery()
    rows = session.execute(
        select(
            Matter.id,
            Matter.definition_version_id,
            Matter.village_id,
            Matter.title,
            Matter.status,
            Matter.started_by,
            Matter.started_at,
            DefinitionVersion.key,
            DefinitionVersion.version,
        )
        .join(DefinitionVersion, DefinitionVersion.id == Matter.definition_version_id)
        .where(Matter.id.in_(select(ids.c.id)))
        .order_by(Matter.id)
    ).all()
    ends = {
        instance_id: json.loads(data).get("end") or ""
        for instance_id, data in session.execute(
            select(HistoryEvent.instance_id, HistoryEvent.data).where(
                HistoryEvent.kind == EventKind.INSTANCE_ENDED, HistoryEvent.instance_id.in_(select(ids.c.id))
            )
        )
    }
    log = EventLog()
    log.attrs["flow"] = scope.key
    activity = Interner(log.activity_names)
    resource = Interner(log.resource_names)
    noted = HistoryEvent.kind.in_(tuple(NOTE_KINDS))
    events = iter(
        session.execute(
            select(
                HistoryEvent.instance_id,
                HistoryEvent.seq,
                HistoryEvent.kind,
                HistoryEvent.step_id,
                HistoryEvent.at,
                HistoryEvent.actor,
                when((noted, HistoryEvent.data), else_=None).label("data"),
            )
            .where(
                HistoryEvent.kind.in_((*ACTIVITY_KINDS, EventKind.TASK_WITHDRAWN, *NOTE_KINDS)),
                HistoryEvent.instance_id.in_(select(ids.c.id)),
            )
            .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
            .execution_options(yield_per=5000)
        )
    )
    log.seqs = []
    pending = next(events, None)
    for row in rows:
        village = units.get(row.village_id)
        town = units.get(village.parent_id) if village and village.parent_id else None
        log.case_ids.append(str(row.id))
        log.case_start.append(as_utc(row.started_at).timestamp())
        log.case_end.append(ends.get(row.id) if row.status == MatterStatus.COMPLETED else None)
        log.case_attrs.append(
            {
                "instance": row.id,
                "key": row.key,
                "version": row.version,
                "definition_id": row.definition_version_id,
                "title": row.title,
                "status": row.status,
                "started_by": row.started_by,
                "village": village.code if village else None,
                "village_name": village.name if village else None,
                "town": town.code if town else None,
                "town_name": town.name if town else None,
            }
        )
        while pending is not None and pending.instance_id < row.id:
            pending = next(events, None)
        first = len(log.acts)
        case_index = len(log.case_ids) - 1
        while pending is not None and pending.instance_id == row.id:
            at = as_utc(pending.at).timestamp() if pending.at else NO_TIME
            if pending.kind == EventKind.TASK_WITHDRAWN:
                _annul(log, first, activity(pending.step_id or ""), case_index)
            elif pending.kind in NOTE_KINDS:
                data = json.loads(pending.data or "{}")
                log.notes.setdefault(case_index, []).append(
                    Note(
                        NOTE_KINDS[pending.kind],
                        len(log.acts) - first,
                        at,
                        pending.step_id or "",
                        str(data.get("to") or ""),
                        str(data.get("reason") or ""),
                        pending.actor,
                        pending.seq,
                    )
                )
            else:
                log.acts.append(activity(pending.step_id or ""))
                log.times.append(at)
                log.resources.append(resource(pending.actor or ""))
                log.seqs.append(pending.seq)
            pending = next(events, None)
        log.offsets.append(len(log.acts))
    return log


def _annul(log: EventLog, first: int, act: int, case: int) -> None:
    """Drop the case's latest completion of ``act`` (events from ``first`` on): it was withdrawn."""
    for i in range(len(log.acts) - 1, first - 1, -1):
        if log.acts[i] == act:
            del log.acts[i], log.times[i], log.resources[i]
            if log.seqs is not None:
                del log.seqs[i]
            for note in log.notes.get(case, ()):
                if note.pos > i - first:
                    note.pos -= 1
            return


def check_histories(session: Session, scope: Scope, collect_stats: bool = False) -> Findings:
    """Check every matter in ``scope`` against the flow version it ran on."""
    log = load_histories(session, scope)
    groups: dict[int, list[int]] = {}
    for case, attrs in enumerate(log.case_attrs):
        groups.setdefault(attrs["definition_id"], []).append(case)
    parts = []
    for definition_id, cases in sorted(groups.items()):
        model = model_for(session.get(DefinitionVersion, definition_id))
        parts.append(check_log(log, model, cases, collect_stats=collect_stats))
    return combine(log, parts, scope.key or "")
