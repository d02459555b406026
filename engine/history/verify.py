"""Re-computing every history chain to find edited, deleted, inserted or reordered events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.history.chain import GENESIS, event_hash
from engine.persistence.models import HistoryEvent, ProcessInstance


@dataclass
class BadEvent:
    instance_id: int
    seq: int | None
    event_id: int | None
    reason: str

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
    """Walk instances and their events in order; stop at the first bad event."""
    report = VerifyReport()
    instances = select(ProcessInstance.id, ProcessInstance.history_seq, ProcessInstance.history_head).order_by(
        ProcessInstance.id
    )
    if instance_id is not None:
        instances = instances.where(ProcessInstance.id == instance_id)
    heads = {row.id: (row.history_seq, row.history_head) for row in session.execute(instances)}
    report.instances = len(heads)

    events = select(HistoryEvent).order_by(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.id)
    if instance_id is not None:
        events = events.where(HistoryEvent.instance_id == instance_id)

    current: int | None = None
    prev = GENESIS
    expected_seq = 1
    seen: set[int] = set()

    def close(inst: int) -> BadEvent | None:
        seq, head = heads[inst]
        if expected_seq - 1 != seq or prev != head:
            return BadEvent(
                inst,
                expected_seq,
                None,
                f"history ends at event #{expected_seq - 1} but the "
                f"instance records {seq} events: events were deleted or the head was altered",
            )
        return None

    for event in session.scalars(events.execution_options(yield_per=1000)):
        if event.instance_id != current:
            if current is not None and (bad := close(current)):
                report.bad = bad
                return report
            current = event.instance_id
            if current not in heads:
                report.bad = BadEvent(current, event.seq, event.id, "events belong to an instance that does not exist")
                return report
            seen.add(current)
            prev, expected_seq = GENESIS, 1
        report.events += 1
        if event.seq != expected_seq:
            report.bad = BadEvent(
                current, event.seq, event.id, f"expected event #{expected_seq}: events were deleted or reordered"
            )
            return report
        digest = event_hash(
            prev,
            instance_id=event.instance_id,
            seq=event.seq,
            kind=event.kind,
            at=event.at,
            actor=event.actor,
            step_id=event.step_id,
            data=event.data,
        )
        if digest != event.hash:
            report.bad = BadEvent(current, event.seq, event.id, "hash does not match: the event was altered")
            return report
        prev = digest
        expected_seq += 1
    if current is not None and (bad := close(current)):
        report.bad = bad
        return report
    for inst, (seq, _head) in heads.items():
        if inst not in seen and seq:
            report.bad = BadEvent(inst, 1, None, f"all {seq} events of the instance are missing")
            return report
    return report
