"""Receipt codes (回执码) of matters, and the progress a code shows (流程到哪了).

A code is random, stored once per matter and says nothing about it: knowing one matter's code
tells nothing about another's. The progress shows the item, the village and the steps of the
flow with their dates; never who acted, what a form said or the matter's title. A step the matter
can no longer reach from where it stands (a gateway sent it another way) reads as bypassed at once;
a working-day time limit reads in working days. A report's matter also shows the answer to it
(:mod:`engine.public.answers`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import parse_time_limit
from engine.clock import as_utc
from engine.errors import NotFound
from engine.history.events import EventKind
from engine.persistence.enums import MatterStatus
from engine.persistence.models import HistoryEvent, Matter, OpenTask
from engine.public import answers
from engine.public.models import PublicReceipt
from engine.public.villages import place_name
from engine.workspace.labels import role_name

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed from paper
LENGTH = 12  # 60 bits


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text: str | None) -> str | None:
    """The code as stored, from what a villager typed (any case, spaces or dashes); None if it cannot be one."""
    if not text or len(text) > 40:
        return None
    code = "".join(ch for ch in str(text).upper() if ch not in " -\t")
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def display(code: str) -> str:
    """ABCD-EFGH-JKLM: in groups of four, as printed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def receipt_for(session: Session, instance_id: int) -> str:
    """The matter's code, made on first use (the caller commits)."""
    if session.get(Matter, instance_id) is None:
        raise NotFound(f"no instance {instance_id}")
    existing = session.scalar(select(PublicReceipt.code).where(PublicReceipt.instance_id == instance_id))
    if existing is not None:
        return existing
    code = new_code()
    session.add(PublicReceipt(instance_id=instance_id, code=code, created_at=clock.now()))
    session.flush()
    return code


def instance_of(session: Session, text: str | None) -> Matter:
    code = normalize(text)
    found = None
    if code is not None:
        found = session.scalar(
            select(Matter)
            .join(PublicReceipt, PublicReceipt.instance_id == Matter.id)
            .where(PublicReceipt.code == code)
        )
    if found is None:
        raise NotFound("no matter with this receipt code")
    return found


def _step_state(
    open_row: OpenTask | None, done_at: datetime | None, finished: bool, now: datetime, bypassed: bool = False
) -> str:
    if open_row is not None:
        due = as_utc(open_row.due_at)
        return "overdue" if due is not None and due < now else "current"
    if done_at is not None:
        return "done"
    return "skipped" if finished or bypassed else "waiting"


def reachable(spec: Any, positions: set[str]) -> set[str] | None:
    """The ids of the flow's elements a matter standing at ``positions`` (open steps) may still
    reach, following the flow's sequence flows; None when a position is not in the flow's top
    process (inside a subprocess: nothing can be ruled out)."""
    specs = getattr(spec, "task_specs", None) or {}
    if not positions or any(name not in specs for name in positions):
        return None
    seen: set[str] = set()
    todo = list(positions)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(output.name for output in getattr(specs.get(name), "outputs", []) or [])
    return seen


def bypassed(session: Session, instance: Matter, open_steps: set[str]) -> set[str]:
    """The user tasks of a running matter it can no longer reach from its open steps: a gateway
    sent it another way. Empty when it is not waiting at a step (a timer, a subprocess)."""
    from engine.runtime.loaded import loaded_version

    row = instance.definition
    try:
        loaded = loaded_version(session, row.id, row.key, row.content_hash)
    except Exception:  # a version that cannot be restored here: rule nothing out
        return set()
    ahead = reachable(loaded.spec, open_steps)
    if ahead is None:
        return set()
    specs = loaded.spec.task_specs
    return {step["id"] for step in row.meta.get("steps", []) if step["id"] in specs and step["id"] not in ahead}


def working_days(step: dict[str, Any]) -> int | None:
    """The step's time limit in working days, when it counts them (``pl:calendar="working"``)."""
    if step.get("calendar") != "working" or not step.get("time_limit"):
        return None
    try:
        limit = parse_time_limit(step["time_limit"])
    except Exception:
        return None
    return limit.days if limit.days and not limit.seconds and not limit.microseconds else None


@dataclass(frozen=True, slots=True)
class StepProgress:
    """One step of a matter as its receipt shows it: who handles it, its time limit, its state and dates."""

    name: str
    handled_by: str
    time_limit: str | None
    working_days: int | None
    state: str
    done_at: datetime | None
    opened_at: datetime | None
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class MatterProgress:
    """How far the matter of a receipt code has got, and (a report) what its reporter is told."""

    code: str
    item: str
    number: Any
    village: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    steps: list[StepProgress]
    answer: dict[str, Any] | None


def progress(session: Session, text: str | None) -> MatterProgress:
    """How far the matter of a receipt code has got: item, village and each step's state and dates."""
    instance = instance_of(session, text)
    definition = instance.definition
    now = clock.now()
    open_rows = {
        row.step_id: row for row in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id))
    }
    done: dict[str, datetime] = {}
    for step_id, at in session.execute(
        select(HistoryEvent.step_id, HistoryEvent.at)
        .where(
            HistoryEvent.instance_id == instance.id,
            HistoryEvent.kind.in_((EventKind.TASK_COMPLETED, EventKind.TASK_FORCED)),
        )
        .order_by(HistoryEvent.seq)
    ):
        if step_id:
            done[step_id] = as_utc(at)
    finished = instance.status != MatterStatus.RUNNING
    passed_by = set() if finished else bypassed(session, instance, set(open_rows))
    steps = []
    for step in definition.meta.get("steps", []):
        row = open_rows.get(step["id"])
        state = _step_state(row, done.get(step["id"]), finished, now, step["id"] in passed_by)
        steps.append(
            StepProgress(
                name=step["name"],
                handled_by=role_name(step["role"]),
                time_limit=step.get("time_limit"),
                working_days=working_days(step),
                state=state,
                done_at=done.get(step["id"]) if state == "done" else None,
                opened_at=as_utc(row.opened_at) if row is not None else None,
                due_at=as_utc(row.due_at) if row is not None and row.due_at else None,
            )
        )
    return MatterProgress(
        code=display(normalize(text) or ""),
        item=definition.name,
        number=definition.meta.get("number"),
        village=place_name(instance.village),
        status=instance.status,
        started_at=as_utc(instance.started_at),
        ended_at=as_utc(instance.ended_at),
        steps=steps,
        answer=answers.answer(session, instance, definition.key),
    )
