"""Data for the auditor's replay view, matter lists and per-flow heatmaps, as plain dicts.

``replay`` walks one matter's history position by position: what was done, by whom, when and with
what data, which steps were open at that moment, and how long each step took against its limit. A
return (退回) is listed with its reason and the steps it sent back; a step done again after it is its
second pass (``pass`` 2, ``returned`` naming the return), not a deviation.
``matters`` lists the matters of a village, town or county with filters; ``heatmap`` summarises a
flow per step from the conformance check.

Violations are recorded by the supervision area; this module reads them only through a
:class:`ViolationSource` registered with :func:`set_violation_source`.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.conformance import KINDS, Findings, check_log
from engine.audit.histories import Scope, check_histories, instances_query
from engine.audit.reference_model import model_for
from engine.calendar import due_at
from engine.clock import as_utc, format_time
from engine.errors import InvalidState, NotFound
from engine.history.events import EventKind, events_of
from engine.org.service import ancestors
from engine.persistence.models import DefinitionVersion, Matter
from engine.runtime.loaded import loaded
from engine.runtime.steps import work_calendar

DONE_KINDS = (EventKind.TASK_COMPLETED, EventKind.TASK_FORCED)
# The matter went back; ``opened`` is what is open now.
RESET_KINDS = (EventKind.TASK_RETURNED, EventKind.TASK_WITHDRAWN)
CLOSING_KINDS = (EventKind.INSTANCE_ENDED, EventKind.INSTANCE_CANCELLED)
MAX_MATTERS = 500


class ViolationSource(Protocol):
    """Where violations of matters come from (the supervision area registers one)."""

    def instances_with_violations(self) -> Select:
        """A SELECT of the ids of instances with at least one violation."""

    def counts(self, session: Session, instance_ids: list[int]) -> dict[int, int]:
        """Number of violations per instance id (absent ids have none)."""


_violations: ViolationSource | None = None


def set_violation_source(source: ViolationSource | None) -> None:
    global _violations
    _violations = source


def violation_source() -> ViolationSource | None:
    return _violations


# --- one matter --------------------------------------------------------------------------------


@dataclass
class _Open:
    step: str
    opened_at: datetime
    due: datetime | None


def replay(session: Session, instance_id: int, as_of: datetime | None = None) -> dict[str, Any]:
    """The matter's history up to ``as_of`` (default: all of it), position by position."""
    row = session.get(Matter, instance_id)
    if row is None:
        raise NotFound(f"no instance {instance_id}")
    definition = loaded(row.definition)
    calendar = work_calendar()
    cutoff = as_utc(as_of)
    moment = cutoff or clock.now()

    def step_info(step_id: str | None) -> dict[str, Any]:
        step = definition.steps.get(step_id or "")
        if step is None:
            return {"step_name": None, "time_limit": None, "calendar": None}
        return {"step_name": step.name, "time_limit": step.time_limit, "calendar": step.calendar}

    def due_of(step_id: str, opened: datetime) -> datetime | None:
        step = definition.steps.get(step_id)
        return due_at(opened, step.time_limit, step.calendar, calendar) if step else None

    open_now: list[_Open] = []
    completions: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    returns: list[dict[str, Any]] = []
    to_redo: dict[str, dict[str, Any]] = {}  # step -> the return that sent the matter back over it
    for event in events_of(session, instance_id):
        at = as_utc(event.at)
        if cutoff is not None and at > cutoff:
            break
        data = json.loads(event.data)
        if event.kind in DONE_KINDS and event.step_id:
            opened = next((o for o in open_now if o.step == event.step_id), None)
            if opened is not None:
                open_now.remove(opened)
            started = opened.opened_at if opened else (positions[-1]["_at"] if positions else at)
            due = opened.due if opened else due_of(event.step_id, started)
            passes = sum(1 for c in completions if c["step"] == event.step_id and not c["withdrawn"])
            completions.append(
                {
                    "position": len(positions),
                    "seq": event.seq,
                    "step": event.step_id,
                    **step_info(event.step_id),
                    "by": event.actor,
                    "at": format_time(at),
                    "forced": event.kind == EventKind.TASK_FORCED,
                    "withdrawn": False,
                    "data": data.get("form", {}),
                    "opened_at": format_time(started),
                    "took_seconds": (at - started).total_seconds(),
                    "due_at": format_time(due),
                    "overdue": bool(due and at > due),
                    "pass": passes + 1,
                    "returned": to_redo.pop(event.step_id, None),
                }
            )
        if event.kind == EventKind.TASK_RETURNED:
            target = str(data.get("to") or "")
            item = {
                "position": len(positions),
                "seq": event.seq,
                "from": event.step_id,
                "from_name": step_info(event.step_id)["step_name"],
                "to": target,
                "to_name": step_info(target)["step_name"],
                "reason": data.get("reason") or "",
                "by": event.actor,
                "at": format_time(at),
            }
            returns.append(item)
            active = [c for c in completions if not c["withdrawn"]]
            latest = max((i for i, c in enumerate(active) if c["step"] == target), default=None)
            if latest is not None:
                for c in active[latest:]:
                    to_redo[c["step"]] = item
        if event.kind == EventKind.TASK_WITHDRAWN:
            annulled = [c for c in completions if c["step"] == event.step_id and not c["withdrawn"]]
            if annulled:
                annulled[-1]["withdrawn"] = True
        if event.kind in RESET_KINDS or event.kind in CLOSING_KINDS:
            open_now = []
        for step_id in data.get("opened", []):
            open_now.append(_Open(step_id, at, due_of(step_id, at)))
        positions.append(
            {
                "_at": at,
                "seq": event.seq,
                "kind": event.kind,
                "at": format_time(at),
                "actor": event.actor,
                "step": event.step_id,
                "step_name": step_info(event.step_id)["step_name"],
                "data": data,
                "done": list(range(len(completions))),
                "open": [_open_dict(o, at, step_info) for o in open_now],
            }
        )
    for position in positions:
        position.pop("_at")
    info = _matter_dict(row)
    return {
        "instance": info,
        "as_of": format_time(cutoff),
        "steps": [
            {"step": s.id, "name": s.name, "role": s.role, "time_limit": s.time_limit, "calendar": s.calendar}
            for s in definition.steps.values()
        ],
        "positions": positions,
        "completions": completions,
        "returns": returns,
        "open": [_open_dict(o, moment, step_info) for o in open_now],
        "deviations": _deviations_of(session, row, cutoff),
    }


def _open_dict(item: _Open, moment: datetime, step_info) -> dict[str, Any]:
    return {
        "step": item.step,
        **step_info(item.step),
        "opened_at": format_time(item.opened_at),
        "due_at": format_time(item.due),
        "waiting_seconds": max((moment - item.opened_at).total_seconds(), 0.0),
        "overdue": bool(item.due and moment > item.due),
    }


def _deviations_of(session: Session, row: Matter, cutoff: datetime | None) -> list[dict[str, Any]]:
    findings = check_histories(session, Scope(instance_ids=[row.id]))
    if cutoff is None:
        return [d.as_dict() for d in findings.deviations()]
    limit = cutoff.timestamp()
    log = findings.log
    if log.case_count == 0:
        return []
    kept = [i for i in log.events(0) if log.times[i] <= limit]
    log.offsets[1] = log.offsets[0] + len(kept)
    if 0 in log.notes:
        log.notes[0] = [n for n in log.notes[0] if n.at <= limit]
    if row.ended_at is None or as_utc(row.ended_at) > cutoff:
        log.case_end[0] = None
    return [d.as_dict() for d in check_log(log, findings.model).deviations()]


def _matter_dict(row: Matter) -> dict[str, Any]:
    chain = ancestors(row.village)
    return {
        "id": row.id,
        "key": row.definition.key,
        "version": row.definition.version,
        "name": row.definition.name,
        "title": row.title,
        "village": row.village.code,
        "village_name": row.village.name,
        "town": chain[1].code if len(chain) > 1 else None,
        "town_name": chain[1].name if len(chain) > 1 else None,
        "status": row.status,
        "started_by": row.started_by,
        "started_at": format_time(row.started_at),
        "ended_at": format_time(row.ended_at),
        "events": row.history_seq,
    }


# --- many matters ------------------------------------------------------------------------------


def matters(
    session: Session,
    unit: str | None = None,
    key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: str | None = None,
    has_violations: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Matters of a village, town or county (``unit`` code), newest first, with filters.

    ``since``/``until`` bound the start time; ``has_violations`` needs a registered
    :class:`ViolationSource`.
    """
    query = instances_query(session, Scope(key=key, unit=unit, since=since, until=until, status=status))
    if has_violations is not None:
        if _violations is None:
            raise InvalidState("violation records are not available: no violation source is registered")
        flagged = _violations.instances_with_violations()
        query = query.where(Matter.id.in_(flagged) if has_violations else Matter.id.not_in(flagged))
    total = session.scalar(query.with_only_columns(func.count(Matter.id)).order_by(None))
    limit = max(1, min(limit, MAX_MATTERS))
    rows = list(
        session.scalars(
            query.order_by(Matter.started_at.desc(), Matter.id.desc())
            .limit(limit)
            .offset(max(offset, 0))
        )
    )
    counts = _violations.counts(session, [r.id for r in rows]) if _violations is not None else None
    result = []
    for row in rows:
        item = _matter_dict(row)
        item["violations"] = counts.get(row.id, 0) if counts is not None else None
        result.append(item)
    return {"total": total, "limit": limit, "offset": offset, "matters": result}


def heatmap(
    session: Session,
    key: str,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Per step of a flow: how often done, overdue, skipped, swapped, repeated, reworked, returned to
    (退回: sanctioned, counted apart from the deviations), and the median time it took, over the
    matters in scope."""
    latest = session.scalar(
        select(DefinitionVersion).where(DefinitionVersion.key == key).order_by(DefinitionVersion.version.desc())
    )
    if latest is None:
        raise NotFound(f"no deployed flow with key '{key}'")
    findings = check_histories(session, Scope(key=key, unit=unit, since=since, until=until), collect_stats=True)
    return heatmap_of(findings, [model_for(latest)])


def heatmap_of(findings: Findings, order: list | None = None) -> dict[str, Any]:
    """The heatmap of any checked log (our histories or an imported one)."""
    models = order or findings.models
    steps: dict[str, dict[str, Any]] = {}
    for model in [*models, *findings.models]:
        for index, step in enumerate(model.steps):
            steps.setdefault(
                step,
                {
                    "step": step,
                    "name": model.names[index],
                    "time_limit": model.time_limits[index],
                    "count": 0,
                    "cases": 0,
                    **{kind: 0 for kind in KINDS},
                    "reworked": 0,
                    "returns": 0,
                    "median_seconds": None,
                },
            )
    for case, code, _event, act, _extra in findings.raw:
        step = findings.model_of(case).step_of(act)
        if step in steps:
            steps[step][KINDS[code]] += 1
    for step, figures in (findings.stats or {}).items():
        if step in steps:
            entry = steps[step]
            entry["count"] = figures.count
            entry["cases"] = figures.cases
            entry["reworked"] = figures.reworked
            entry["returns"] = figures.returned
            entry["median_seconds"] = statistics.median(figures.durations) if figures.durations else None
    for entry in steps.values():
        entry["overdue_rate"] = round(entry["overdue"] / entry["count"], 4) if entry["count"] else 0.0
    return {
        "flow": findings.model.key,
        "cases": findings.cases_checked,
        "events": findings.events_checked,
        "deviating_cases": findings.deviating_cases(),
        "steps": list(steps.values()),
    }
