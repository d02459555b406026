"""Re-computing every history chain to find edited, deleted, inserted or reordered events, and
matters whose stored state is not the state their newest event vouches for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.history import state
from engine.history.chain import ChainWalk, history_link
from engine.persistence.models import HistoryEvent, Matter, OpenTask


@dataclass
class BadEvent:
    instance_id: int
    seq: int | None
    event_id: int | None
    reason: str
    # altered | reordered | truncated | orphan | missing | state (edited without a step) | open_tasks
    code: str = "other"

    def __str__(self) -> str:
        where = f"instance {self.instance_id}"
        if self.seq is not None:
            where += f" event #{self.seq}"
        if self.event_id is not None:
            where += f" (row {self.event_id})"
        return f"{where}: {self.reason}"


@dataclass
class VerifyReport:
    instances: int = 0
    events: int = 0
    bad: BadEvent | None = None

    @property
    def ok(self) -> bool:
        return self.bad is None


def verify(session: Session, instance_id: int | None = None) -> VerifyReport:
    """Walk instances and their events in order; stop at the first bad event.

    Besides the chain, the state each matter is in now (its row, saved workflow and open tasks)
    must give the digest its newest event carries (:mod:`engine.history.state`).
    """
    report = VerifyReport()
    heads = _current_states(session, instance_id)
    report.instances = len(heads)

    events = select(HistoryEvent).order_by(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.id)
    if instance_id is not None:
        events = events.where(HistoryEvent.instance_id == instance_id)

    current: int | None = None
    walk = ChainWalk(history_link)
    last_state: bytes | None = None
    seen: set[int] = set()

    def close(inst: int) -> BadEvent | None:
        seq, head, now_state = heads[inst]
        if not walk.ends_at(seq, head):
            return BadEvent(
                inst,
                walk.next_seq,
                None,
                f"history ends at event #{walk.length} but the "
                f"instance records {seq} events: events were deleted or the head was altered",
                "truncated",
            )
        if last_state is not None and last_state != now_state:
            return BadEvent(
                inst,
                seq,
                None,
                "the matter's stored state (its saved workflow, status, open tasks or their roles and "
                "assignees) is not the state its newest event recorded: it was changed without a step",
                "state",
            )
        return None

    for event in session.scalars(events.execution_options(yield_per=1000)):
        if event.instance_id != current:
            if current is not None and (bad := close(current)):
                report.bad = bad
                return report
            current = event.instance_id
            if current not in heads:
                report.bad = BadEvent(
                    current, event.seq, event.id, "events belong to an instance that does not exist", "orphan"
                )
                return report
            seen.add(current)
            walk, last_state = ChainWalk(history_link), None
        report.events += 1
        broken = walk.step(event)
        if broken == "reordered":
            report.bad = BadEvent(
                current,
                event.seq,
                event.id,
                f"expected event #{walk.next_seq}: events were deleted or reordered",
                "reordered",
            )
            return report
        if broken == "altered":
            report.bad = BadEvent(current, event.seq, event.id, "hash does not match: the event was altered", "altered")
            return report
        last_state = bytes(event.state_digest) if event.state_digest is not None else None
    if current is not None and (bad := close(current)):
        report.bad = bad
        return report
    for inst, (seq, _head, _state) in heads.items():
        if inst not in seen and seq:
            report.bad = BadEvent(inst, 1, None, f"all {seq} events of the instance are missing", "missing")
            return report
    return report


def _current_states(session: Session, instance_id: int | None) -> dict[int, tuple[int, bytes, bytes]]:
    """Each matter's (history seq, head, digest of its stored state), streamed: the saved
    workflows are read one batch at a time and only their digests kept."""
    tasks_query = select(OpenTask.instance_id, *state.TASK_COLUMNS)
    matters = select(
        Matter.id,
        Matter.history_seq,
        Matter.history_head,
        Matter.status,
        Matter.definition_version_id,
        Matter.village_id,
        Matter.title,
        Matter.started_by,
        Matter.state,
    ).order_by(Matter.id)
    if instance_id is not None:
        matters = matters.where(Matter.id == instance_id)
        tasks_query = tasks_query.where(OpenTask.instance_id == instance_id)
    tasks: dict[int, list] = {}
    for row in session.execute(tasks_query):
        tasks.setdefault(row[0], []).append(state.task_entry(row[1:]))
    found: dict[int, tuple[int, bytes, bytes]] = {}
    for row in session.execute(matters.execution_options(yield_per=500)):
        found[row.id] = (
            row.history_seq,
            bytes(row.history_head),
            state.digest(
                status=row.status,
                definition_version_id=row.definition_version_id,
                village_id=row.village_id,
                title=row.title,
                started_by=row.started_by,
                state=row.state,
                tasks=tasks.pop(row.id, []),
            ),
        )
    return found
